#include "core/tftp/transfer.h"

#include <algorithm>

namespace pinet::core::tftp {

Negotiated negotiate(const proto::tftp::RequestOptions& requested, std::uint64_t fileSize,
                     const TransferLimits& limits) {
    Negotiated n;
    n.timeout = limits.defaultTimeout;
    // Fixed order in the OACK; RFC 2347 does not require the request's order.
    if (requested.tsize) {
        // RFC 2349: in an RRQ the client sends 0 and the server answers the size.
        // The Pi sizes its buffer from it; answering 0 made it loop (spec 4.1).
        n.tsizeRequested = true;
        n.oack.push_back({"tsize", std::to_string(fileSize)});
    }
    if (requested.blksize) {
        n.blockSize = std::clamp(*requested.blksize, proto::tftp::kMinBlockSize,
                                 std::max(limits.maxBlockSize, proto::tftp::kMinBlockSize));
        n.oack.push_back({"blksize", std::to_string(n.blockSize)});
    }
    if (requested.timeout) {
        // RFC 2349: the timeout both sides use for retransmission.
        n.timeout = std::chrono::seconds(*requested.timeout);
        n.timeoutRequested = true;
        n.oack.push_back({"timeout", std::to_string(*requested.timeout)});
    }
    if (requested.windowsize) {
        n.windowSize = std::clamp(*requested.windowsize, proto::tftp::kMinWindowSize,
                                  std::max(limits.maxWindowSize, proto::tftp::kMinWindowSize));
        n.oack.push_back({"windowsize", std::to_string(n.windowSize)});
    }
    return n;
}

Transfer::Transfer(std::uint64_t contentSize, Negotiated negotiated, const TransferLimits& limits)
    : size_(contentSize),
      neg_(std::move(negotiated)),
      limits_(limits),
      // RFC 1350 section 6: a block shorter than blksize ends the transfer, so a
      // size that is an exact multiple (including 0) ends with an empty block.
      totalBlocks_(contentSize / neg_.blockSize + 1),
      adaptive_(!neg_.timeoutRequested && limits.minAdaptiveTimeout < neg_.timeout),
      rto_(neg_.timeout) {}

std::chrono::microseconds Transfer::currentTimeout() const {
    return adaptive() ? rto_ : std::chrono::microseconds(neg_.timeout);
}

void Transfer::onProgress(Clock::time_point now) {
    progressAt_ = now;
    if (resent_) {
        // Karn: an answer to a retransmission could belong to either copy. The
        // backed-off timeout stays until a clean sample (RFC 6298 section 5.7).
        return;
    }
    using std::chrono::microseconds;
    // At least 1 us, so that 0 keeps meaning "no sample".
    const auto r =
        std::max(microseconds(1), std::chrono::duration_cast<microseconds>(now - sentAt_));
    // The shortest round trip is kept whether or not the timeout adapts: it is what
    // admission control learns a board's lockstep speed from.
    minRtt_ = minRtt_.count() == 0 ? r : std::min(minRtt_, r);
    if (!adaptive_) {
        return;
    }
    if (!haveRtt_) {
        // RFC 6298 section 2.2: the first measurement.
        srtt_ = r;
        rttvar_ = r / 2;
        haveRtt_ = true;
    } else {
        // Section 2.3, alpha = 1/8, beta = 1/4.
        const auto err = srtt_ > r ? srtt_ - r : r - srtt_;
        rttvar_ = (3 * rttvar_ + err) / 4;
        srtt_ = (7 * srtt_ + r) / 8;
    }
    // RTO = SRTT + max(G, 4 RTTVAR), G = 1 ms (the loop's timer granularity).
    const auto rto = srtt_ + std::max(microseconds(1000), 4 * rttvar_);
    rto_ = std::clamp(rto, microseconds(limits_.minAdaptiveTimeout), microseconds(neg_.timeout));
}

std::uint64_t Transfer::rateCeiling() const {
    if (minRtt_.count() <= 0) {
        return 0;
    }
    const std::uint64_t perRound = std::uint64_t{neg_.blockSize} * neg_.windowSize;
    return perRound * 1'000'000 / static_cast<std::uint64_t>(minRtt_.count());
}

std::uint64_t Transfer::blockOffset(std::uint64_t block) const {
    return (block - 1) * neg_.blockSize;
}

std::uint32_t Transfer::blockLength(std::uint64_t block) const {
    std::uint64_t off = blockOffset(block);
    if (off >= size_) {
        return 0;
    }
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(neg_.blockSize, size_ - off));
}

std::uint64_t Transfer::bytesAcked() const {
    return std::min<std::uint64_t>(acked_ * neg_.blockSize, size_);
}

Emit Transfer::start(Clock::time_point now) {
    retries_ = 0;
    progressAt_ = now;
    if (!neg_.oack.empty()) {
        state_ = State::AwaitingOackAck;
        sentAt_ = now;
        resent_ = false;
        deadline_ = now + neg_.timeout;
        return Emit{true, 0, 0};
    }
    state_ = State::Sending;
    return sendWindow(now, false);
}

Emit Transfer::sendWindow(Clock::time_point now, bool resend) {
    if (resend) {
        resent_ = true;
    } else {
        sentAt_ = now;
        resent_ = false;
    }
    deadline_ = now + currentTimeout();
    std::uint64_t left = totalBlocks_ - acked_;
    return Emit{false, acked_ + 1,
                static_cast<std::uint32_t>(std::min<std::uint64_t>(neg_.windowSize, left))};
}

Emit Transfer::onAck(std::uint16_t block, Clock::time_point now) {
    if (state_ == State::Done) {
        return {};
    }
    if (state_ == State::AwaitingOackAck) {
        // RFC 2347: ACK 0 accepts the OACK. Anything else is stale; ignore it.
        if (block != 0) {
            return {};
        }
        clientAnswered_ = true;
        state_ = State::Sending;
        retries_ = 0;
        onProgress(now);  // the OACK's round trip is the first sample
        return sendWindow(now, false);
    }
    // Distance from the last acknowledged block, modulo the 16-bit wire number.
    std::uint32_t d = static_cast<std::uint16_t>(block - wireBlock(acked_));
    std::uint64_t inFlight = std::min<std::uint64_t>(neg_.windowSize, totalBlocks_ - acked_);
    if (d == 0 || d > inFlight) {
        // A duplicate of the last ACK, or one from before it: resending on it
        // would double every later packet (Sorcerer's Apprentice). The timer
        // alone drives retransmission.
        clientAnswered_ = true;
        return {};
    }
    clientAnswered_ = true;
    retries_ = 0;
    // RFC 7440 section 4: an ACK inside the window acknowledges everything up
    // to it; the next window starts right after it.
    acked_ += d;
    if (acked_ >= totalBlocks_) {
        finish(Result::Ok, {});
        return {};
    }
    onProgress(now);
    return sendWindow(now, false);
}

void Transfer::onError(std::uint16_t code, std::string_view message, Clock::time_point /*now*/) {
    if (state_ == State::Done) {
        return;
    }
    if (state_ == State::AwaitingOackAck && code == 0 && neg_.tsizeRequested) {
        // Spec 4.1: the Pi asks for tsize, reads the OACK, and aborts with
        // ERROR 0 "Early terminate". Normal, not a failure.
        finish(Result::SizeQuery, std::string(message));
        return;
    }
    finish(Result::ClientError,
           "client error " + std::to_string(code) + ": " + std::string(message));
}

Emit Transfer::onTimeout(Clock::time_point now) {
    if (state_ == State::Done) {
        return {};
    }
    ++retries_;
    if (adaptive()) {
        // Same give-up moment as the fixed schedule, however short the timeouts were.
        if (now - progressAt_ >= neg_.timeout * (limits_.maxRetries + 1)) {
            finish(Result::Timeout,
                   "no answer after " + std::to_string(retries_ - 1) + " retransmissions");
            return {};
        }
        // RFC 6298 section 5.5: back off, up to the fixed interval.
        rto_ = std::min(2 * rto_, std::chrono::microseconds(neg_.timeout));
    } else {
        int limit = clientAnswered_ ? limits_.maxRetries : limits_.maxFirstReplyRetries;
        if (retries_ > limit) {
            finish(Result::Timeout,
                   "no answer after " + std::to_string(limit) + " retransmissions");
            return {};
        }
    }
    if (state_ == State::AwaitingOackAck) {
        ++retransmits_;
        resent_ = true;
        deadline_ = now + neg_.timeout;
        return Emit{true, 0, 0};
    }
    Emit e = sendWindow(now, true);
    retransmits_ += e.blockCount;
    return e;
}

void Transfer::abort(Result result, std::string detail) {
    if (state_ != State::Done) {
        finish(result, std::move(detail));
    }
}

void Transfer::finish(Result result, std::string detail) {
    state_ = State::Done;
    result_ = result;
    detail_ = std::move(detail);
}

}  // namespace pinet::core::tftp
