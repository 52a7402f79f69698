#pragma once
// One TFTP read transfer as a state machine with an injected clock. It owns no
// buffers: the file content is a span the caller keeps alive (the app holds a
// shared_ptr to the cached mapping), and the machine only tells the caller
// which blocks (or the OACK) to put on the wire. Per-transfer state is a few
// counters, so memory per transfer is fixed and small.
//
// Block numbering: blocks are counted internally with 64 bits from 1; the wire
// number is the low 16 bits, so the number rolls over 65535 -> 0 as the Pi
// bootloader (since 2025-09), curl, atftp and tftp-hpa expect.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/boot_events.h"
#include "proto/tftp/packet.h"

namespace pinet::core::tftp {

using Clock = std::chrono::steady_clock;

/// Server-side limits applied when negotiating options.
struct TransferLimits {
    /// Largest blksize granted (RFC 2348 allows 65464). 1468 = 1500 (Ethernet
    /// MTU) - 20 (IPv4) - 8 (UDP) - 4 (TFTP): the largest block that is never
    /// IP-fragmented on a LAN, and what the Pi bootloader asks for since 2022
    /// (netboot-protocol.md 4). Larger blocks only pay off on loopback.
    std::uint32_t maxBlockSize = 1468;
    /// Largest windowsize granted. RFC 7440 allows 65535; 16 blocks of 1468
    /// bytes is ~23 KB in flight per client, far under a socket buffer even for
    /// hundreds of clients, and RFC 7440 section 5 measured gains flattening
    /// past 16-32 on a LAN. (The Pi bootloader asks for none: lockstep.)
    std::uint32_t maxWindowSize = 16;
    /// Retransmit interval when the client asked for no timeout. 1 s: the Pi
    /// retransmits its RRQ every ~2 s and gives a file 30 s (spec 4.1). It is
    /// the first reply's interval and the ceiling of the adaptive one.
    std::chrono::milliseconds defaultTimeout{1000};
    /// Floor of the adaptive retransmit timeout (RFC 1123 4.2.3.2: TFTP MUST
    /// adapt its timeout; computed as RFC 6298's RTO from the transfer's round
    /// trips, doubled on each timeout, capped at defaultTimeout). It applies once
    /// the client has answered and only when it asked for no timeout of its own.
    /// A lost DATA block waits for this timer (a client's repeated ACK does not
    /// trigger a resend: Sorcerer's Apprentice): at a fixed 1 s, 1 % loss on an
    /// 8 MiB kernel (5700 blocks) costs 57 s and blows the Pi's 30 s per-file
    /// deadline. 50 ms is far above a LAN
    /// round trip (well under 1 ms) and a loaded loop's scheduling jitter, so
    /// spurious resends stay rare; one costs a duplicate block, which the Pi
    /// re-ACKs and the server ignores. At or above defaultTimeout = adaptation
    /// off (Transfer decides; callers pass the configured value as it is).
    std::chrono::milliseconds minAdaptiveTimeout{50};
    /// Retransmissions of the first reply (OACK or DATA 1) to a client that has
    /// never answered. Small on purpose: an RRQ with a spoofed source must not
    /// turn the server into an amplifier (reflection bound).
    int maxFirstReplyRetries = 3;
    /// Retransmissions of a window once the client has answered at least once.
    /// 5 x 1 s stays well inside the Pi's 30 s per-file deadline, and a board
    /// that went silent for 6 s has rebooted or lost its link. With the
    /// adaptive timeout the transfer instead gives up when nothing advanced for
    /// (maxRetries + 1) x defaultTimeout, the moment the fixed schedule would.
    int maxRetries = 5;
};

/// What was agreed for one transfer.
struct Negotiated {
    std::uint32_t blockSize = proto::tftp::kDefaultBlockSize;
    std::uint32_t windowSize = 1;
    std::chrono::milliseconds timeout{1000};
    /// The client set the timeout (RFC 2349): retransmit at exactly that interval.
    bool timeoutRequested = false;
    bool tsizeRequested = false;
    /// Options to put in the OACK; empty = no OACK, DATA 1 goes first (RFC 2347).
    std::vector<proto::tftp::Option> oack;
};

/// RFC 2347/2348/2349/7440 negotiation for an RRQ for a file of @p fileSize bytes.
Negotiated negotiate(const proto::tftp::RequestOptions& requested, std::uint64_t fileSize,
                     const TransferLimits& limits);

/// Packets the caller must send now: the OACK and/or data blocks
/// [firstBlock, firstBlock + blockCount), in that order.
struct Emit {
    bool oack = false;
    std::uint64_t firstBlock = 0;
    std::uint32_t blockCount = 0;
    [[nodiscard]] bool empty() const { return !oack && blockCount == 0; }
};

class Transfer {
public:
    enum class State { AwaitingOackAck, Sending, Done };
    using Result = TransferRecord::Result;

    Transfer(std::uint64_t contentSize, Negotiated negotiated, const TransferLimits& limits);

    /// The first reply: the OACK, or DATA 1 when no option was agreed.
    Emit start(Clock::time_point now);
    /// An ACK with wire block number @p block. Old and duplicate ACKs emit
    /// nothing (no Sorcerer's Apprentice, RFC 1123 4.2.3.1).
    Emit onAck(std::uint16_t block, Clock::time_point now);
    /// An ERROR from the client ends the transfer without a reply. Code 0
    /// after an OACK that carried tsize is the Pi's probe-and-abort.
    void onError(std::uint16_t code, std::string_view message, Clock::time_point now);
    /// Call when now >= deadline(): resend the window, or give up.
    Emit onTimeout(Clock::time_point now);
    /// Ends the transfer from outside (server shutdown, replaced by a new RRQ).
    void abort(Result result, std::string detail);

    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] bool done() const { return state_ == State::Done; }
    [[nodiscard]] Clock::time_point deadline() const { return deadline_; }
    [[nodiscard]] Result result() const { return result_; }
    [[nodiscard]] const std::string& detail() const { return detail_; }
    [[nodiscard]] const Negotiated& negotiated() const { return neg_; }
    /// Payload bytes the client has acknowledged.
    [[nodiscard]] std::uint64_t bytesAcked() const;
    [[nodiscard]] std::uint64_t totalBlocks() const { return totalBlocks_; }
    [[nodiscard]] bool clientAnswered() const { return clientAnswered_; }
    /// Total datagrams retransmitted (for counters).
    [[nodiscard]] std::uint64_t retransmits() const { return retransmits_; }
    /// The interval the next (re)transmission will wait for an answer.
    [[nodiscard]] std::chrono::microseconds currentTimeout() const;
    /// The shortest clean round trip seen (a window sent to its ACK; 0 = none yet).
    [[nodiscard]] std::chrono::microseconds minRtt() const { return minRtt_; }
    /// The fastest this client can be fed in lockstep: one window per round trip,
    /// at the shortest round trip seen (bytes/s; 0 = no round trip measured yet).
    /// The shortest, because a busy server's own queueing lengthens the others.
    [[nodiscard]] std::uint64_t rateCeiling() const;

    /// Offset and length of block @p block (1-based) in the content.
    [[nodiscard]] std::uint64_t blockOffset(std::uint64_t block) const;
    [[nodiscard]] std::uint32_t blockLength(std::uint64_t block) const;
    static std::uint16_t wireBlock(std::uint64_t block) {
        return static_cast<std::uint16_t>(block & 0xffff);
    }

private:
    /// Sends the window after the last acknowledged block; @p resend marks a
    /// retransmission (its answer gives no round-trip sample: Karn's rule).
    Emit sendWindow(Clock::time_point now, bool resend);
    /// Progress: the client acknowledged what was sent at sentAt_.
    void onProgress(Clock::time_point now);
    void finish(Result result, std::string detail);
    [[nodiscard]] bool adaptive() const { return adaptive_ && clientAnswered_; }

    std::uint64_t size_;
    Negotiated neg_;
    TransferLimits limits_;
    std::uint64_t totalBlocks_;
    State state_ = State::Sending;
    /// Highest block the client acknowledged (0 = none, or the OACK).
    std::uint64_t acked_ = 0;
    Clock::time_point deadline_{};
    int retries_ = 0;
    bool clientAnswered_ = false;
    std::uint64_t retransmits_ = 0;
    // Adaptive timeout (RFC 6298 variables, microseconds).
    bool adaptive_ = false;
    bool haveRtt_ = false;
    std::chrono::microseconds srtt_{0};
    std::chrono::microseconds rttvar_{0};
    std::chrono::microseconds rto_{0};
    std::chrono::microseconds minRtt_{0};
    Clock::time_point sentAt_{};      ///< first transmission of what is in flight
    bool resent_ = false;             ///< what is in flight was retransmitted
    Clock::time_point progressAt_{};  ///< last advance (the give-up horizon)
    Result result_ = Result::Ok;
    std::string detail_;
};

}  // namespace pinet::core::tftp
