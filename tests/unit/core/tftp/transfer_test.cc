#include "core/tftp/transfer.h"

#include <gtest/gtest.h>

namespace pinet::core::tftp {
namespace {

using namespace std::chrono_literals;
using Result = TransferRecord::Result;

proto::tftp::RequestOptions opts(std::optional<std::uint32_t> blk, std::optional<std::uint32_t> win,
                                 bool tsize = false) {
    proto::tftp::RequestOptions o;
    o.blksize = blk;
    o.windowsize = win;
    if (tsize) {
        o.tsize = 0;
    }
    return o;
}

Clock::time_point t0 = Clock::time_point(100s);

TEST(TftpNegotiateTest, OackCarriesAgreedValues) {
    TransferLimits lim;
    lim.maxBlockSize = 1468;
    lim.maxWindowSize = 8;
    auto n = negotiate(opts(65464, 100, true), 12345, lim);
    EXPECT_EQ(n.blockSize, 1468u);
    EXPECT_EQ(n.windowSize, 8u);
    EXPECT_TRUE(n.tsizeRequested);
    ASSERT_EQ(n.oack.size(), 3u);
    EXPECT_EQ(n.oack[0], (proto::tftp::Option{"tsize", "12345"}));
    EXPECT_EQ(n.oack[1], (proto::tftp::Option{"blksize", "1468"}));
    EXPECT_EQ(n.oack[2], (proto::tftp::Option{"windowsize", "8"}));
    proto::tftp::RequestOptions t;
    t.timeout = 3;
    n = negotiate(t, 1, lim);
    EXPECT_EQ(n.timeout, 3s);
    EXPECT_EQ(negotiate({}, 1, lim).oack.size(), 0u);
}

TEST(TftpTransferTest, NoOptionsSendsData1AndEndsWithShortBlock) {
    TransferLimits lim;
    Transfer t(1000, negotiate({}, 1000, lim), lim);
    auto e = t.start(t0);
    EXPECT_FALSE(e.oack);
    EXPECT_EQ(e.firstBlock, 1u);
    EXPECT_EQ(e.blockCount, 1u);
    EXPECT_EQ(t.blockLength(1), 512u);
    EXPECT_EQ(t.blockLength(2), 488u);
    e = t.onAck(1, t0 + 1ms);
    EXPECT_EQ(e.firstBlock, 2u);
    EXPECT_FALSE(t.done());
    e = t.onAck(2, t0 + 2ms);
    EXPECT_TRUE(e.empty());
    EXPECT_TRUE(t.done());
    EXPECT_EQ(t.result(), Result::Ok);
    EXPECT_EQ(t.bytesAcked(), 1000u);
}

TEST(TftpTransferTest, ExactMultipleAndEmptyFileEndWithEmptyBlock) {
    TransferLimits lim;
    Transfer t(1024, negotiate({}, 1024, lim), lim);
    EXPECT_EQ(t.totalBlocks(), 3u);
    EXPECT_EQ(t.blockLength(3), 0u);
    Transfer empty(0, negotiate({}, 0, lim), lim);
    EXPECT_EQ(empty.totalBlocks(), 1u);
    auto e = empty.start(t0);
    EXPECT_EQ(e.blockCount, 1u);
    EXPECT_EQ(empty.blockLength(1), 0u);
    empty.onAck(1, t0);
    EXPECT_EQ(empty.result(), Result::Ok);
}

TEST(TftpTransferTest, DuplicateAckSendsNothing) {
    // Sorcerer's Apprentice (RFC 1123 4.2.3.1): a duplicate ACK must not
    // trigger a resend, or every later block goes out twice.
    TransferLimits lim;
    Transfer t(5000, negotiate({}, 5000, lim), lim);
    t.start(t0);
    EXPECT_EQ(t.onAck(1, t0).firstBlock, 2u);
    EXPECT_TRUE(t.onAck(1, t0).empty());
    EXPECT_TRUE(t.onAck(0, t0).empty());
    EXPECT_TRUE(t.onAck(500, t0).empty());  // far outside the window
    EXPECT_EQ(t.onAck(2, t0).firstBlock, 3u);
}

TEST(TftpTransferTest, TimeoutRetransmitsThenGivesUp) {
    // With the client's own timeout (RFC 2349) the interval is fixed.
    TransferLimits lim;
    lim.maxRetries = 2;
    lim.maxFirstReplyRetries = 1;
    proto::tftp::RequestOptions o;
    o.timeout = 1;
    auto neg = negotiate(o, 5000, lim);
    neg.oack.clear();  // straight to DATA 1, as the test below without options
    Transfer t(5000, neg, lim);
    t.start(t0);
    t.onAck(1, t0);
    EXPECT_EQ(t.deadline(), t0 + 1s);
    auto e = t.onTimeout(t0 + 1s);
    EXPECT_EQ(e.firstBlock, 2u);
    EXPECT_EQ(e.blockCount, 1u);
    EXPECT_EQ(t.onTimeout(t0 + 2s).firstBlock, 2u);
    EXPECT_TRUE(t.onTimeout(t0 + 3s).empty());
    EXPECT_EQ(t.result(), Result::Timeout);
    EXPECT_EQ(t.retransmits(), 2u);
}

TEST(TftpTransferTest, AdaptiveTimeoutFollowsTheRoundTrip) {
    // RFC 1123 4.2.3.2 / RFC 6298: once the client answered, the next window
    // waits SRTT + 4 RTTVAR, clamped to [minAdaptiveTimeout, defaultTimeout].
    TransferLimits lim;  // 50 ms .. 1 s
    Transfer t(100000, negotiate({}, 100000, lim), lim);
    t.start(t0);
    EXPECT_EQ(t.deadline(), t0 + 1s) << "DATA 1 before any answer: the fixed interval";
    auto now = t0 + 2ms;
    t.onAck(1, now);  // first sample 2 ms: RTO = 2 + 4 x 1 = 6 ms -> the 50 ms floor
    EXPECT_EQ(t.deadline(), now + 50ms);
    // A slow client: round trips of 300 ms lift the timeout above the floor.
    for (std::uint16_t b = 2; b < 12; ++b) {
        now += 300ms;
        t.onAck(b, now);
    }
    EXPECT_GT(t.currentTimeout(), 300ms);
    EXPECT_LE(t.currentTimeout(), 1s);
    EXPECT_EQ(t.deadline(), now + t.currentTimeout());
}

TEST(TftpTransferTest, AdaptiveTimeoutBacksOffAndGivesUpAtTheFixedHorizon) {
    TransferLimits lim;
    lim.maxRetries = 6;  // 6 x 1 s: the fixed schedule gives up 7 s after progress
    Transfer t(100000, negotiate({}, 100000, lim), lim);
    t.start(t0);
    auto now = t0 + 1ms;
    t.onAck(1, now);
    const auto progress = now;
    std::vector<std::chrono::microseconds> waits;
    int resends = 0;
    while (!t.done() && resends < 100) {
        const auto wait = t.deadline() - now;
        waits.push_back(std::chrono::duration_cast<std::chrono::microseconds>(wait));
        now = t.deadline();
        auto e = t.onTimeout(now);
        if (e.blockCount > 0) {
            EXPECT_EQ(e.firstBlock, 2u);
            ++resends;
        }
    }
    ASSERT_TRUE(t.done());
    EXPECT_EQ(t.result(), Result::Timeout);
    // 50, 100, 200, 400, 800 ms, then the 1 s ceiling.
    ASSERT_GE(waits.size(), 7u);
    EXPECT_EQ(waits[0], 50ms);
    EXPECT_EQ(waits[1], 100ms);
    EXPECT_EQ(waits[4], 800ms);
    EXPECT_EQ(waits[5], 1s);
    EXPECT_EQ(waits.back(), 1s);
    EXPECT_GE(now - progress, 7s);
    EXPECT_LT(now - progress, 8s);
    EXPECT_EQ(t.retransmits(), static_cast<std::uint64_t>(resends));
}

TEST(TftpTransferTest, AnAnswerToARetransmissionIsNoSample) {
    // Karn: the ACK after a resend may answer the first copy; measuring it would
    // shrink the timeout wrongly. The backed-off value stays until a clean sample.
    TransferLimits lim;
    Transfer t(100000, negotiate({}, 100000, lim), lim);
    t.start(t0);
    auto now = t0 + 1ms;
    t.onAck(1, now);  // RTO 50 ms
    now = t.deadline();
    t.onTimeout(now);  // resend block 2, RTO 100 ms
    now += 1ms;
    t.onAck(2, now);  // progress, but no sample
    EXPECT_EQ(t.deadline(), now + 100ms);
    now += 1ms;
    t.onAck(3, now);  // a clean 1 ms sample: back to the floor
    EXPECT_EQ(t.deadline(), now + 50ms);
}

TEST(TftpTransferTest, ClientTimeoutOptionKeepsTheIntervalFixed) {
    TransferLimits lim;
    proto::tftp::RequestOptions o;
    o.timeout = 2;
    Transfer t(100000, negotiate(o, 100000, lim), lim);
    EXPECT_TRUE(t.start(t0).oack);
    auto now = t0 + 1ms;
    t.onAck(0, now);
    EXPECT_EQ(t.deadline(), now + 2s);
    now += 1ms;
    t.onAck(1, now);
    EXPECT_EQ(t.deadline(), now + 2s);
    // And adaptation can be switched off by the server.
    lim.minAdaptiveTimeout = lim.defaultTimeout;
    Transfer u(100000, negotiate({}, 100000, lim), lim);
    u.start(t0);
    u.onAck(1, t0 + 1ms);
    EXPECT_EQ(u.deadline(), t0 + 1ms + 1s);
}

TEST(TftpTransferTest, TheShortestRoundTripGivesTheClientsLockstepCeiling) {
    // Admission control learns a board's speed from it (one window per round trip),
    // also when the client fixed the timeout and nothing adapts. Karn's rule holds.
    TransferLimits lim;
    proto::tftp::RequestOptions o = opts(1468, std::nullopt);
    o.timeout = 2;
    Transfer t(1'000'000, negotiate(o, 1'000'000, lim), lim);
    EXPECT_EQ(t.rateCeiling(), 0u) << "nothing measured yet";
    EXPECT_TRUE(t.start(t0).oack);
    auto now = t0 + 4ms;
    t.onAck(0, now);  // 4 ms
    EXPECT_EQ(t.minRtt(), 4ms);
    now += 2ms;
    t.onAck(1, now);  // 2 ms: the shortest
    now += 3ms;
    t.onAck(2, now);  // 3 ms
    EXPECT_EQ(t.minRtt(), 2ms);
    EXPECT_EQ(t.rateCeiling(), 1468u * 1000u / 2u);  // 734 kB/s
    now = t.deadline();
    t.onTimeout(now);  // resend block 3
    now += 100us;
    t.onAck(3, now);  // an answer to a resend: no sample, however short
    EXPECT_EQ(t.minRtt(), 2ms);
}

TEST(TftpTransferTest, FirstReplyToSilentSourceIsBounded) {
    // Reflection bound: a source that never answers gets the OACK
    // 1 + maxFirstReplyRetries times, then nothing.
    TransferLimits lim;
    lim.maxFirstReplyRetries = 3;
    Transfer t(5000, negotiate(opts(1468, {}, true), 5000, lim), lim);
    int sent = t.start(t0).oack ? 1 : 0;
    auto now = t0;
    for (int i = 0; i < 20 && !t.done(); ++i) {
        now = t.deadline();
        auto e = t.onTimeout(now);
        sent += e.oack ? 1 : 0;
        EXPECT_EQ(e.blockCount, 0u);
    }
    EXPECT_EQ(sent, 4);
    EXPECT_EQ(t.result(), Result::Timeout);
}

TEST(TftpTransferTest, ProbeAbortAfterOack) {
    TransferLimits lim;
    Transfer t(100, negotiate(opts(1024, {}, true), 100, lim), lim);
    auto e = t.start(t0);
    EXPECT_TRUE(e.oack);
    EXPECT_EQ(e.blockCount, 0u);
    t.onError(0, "Early terminate", t0 + 1ms);
    EXPECT_TRUE(t.done());
    EXPECT_EQ(t.result(), Result::SizeQuery);
    EXPECT_TRUE(t.onTimeout(t0 + 10s).empty());  // no retransmission afterwards
}

TEST(TftpTransferTest, OtherErrorsAreClientErrors) {
    TransferLimits lim;
    Transfer t(100, negotiate(opts(1024, {}), 100, lim), lim);
    t.start(t0);
    t.onError(8, "option refused", t0);
    EXPECT_EQ(t.result(), Result::ClientError);
}

TEST(TftpTransferTest, OackThenAck0StartsData) {
    TransferLimits lim;
    Transfer t(3000, negotiate(opts(1468, {}, true), 3000, lim), lim);
    t.start(t0);
    EXPECT_TRUE(t.onAck(5, t0).empty());  // stale: only ACK 0 accepts the OACK
    auto e = t.onAck(0, t0);
    EXPECT_EQ(e.firstBlock, 1u);
    EXPECT_EQ(t.blockLength(1), 1468u);
    EXPECT_EQ(t.blockLength(3), 3000u - 2 * 1468u);
}

TEST(TftpTransferTest, WindowAdvancesOnPartialAck) {
    TransferLimits lim;
    Transfer t(10 * 512, negotiate(opts(512, 4), 10 * 512, lim), lim);
    t.start(t0);
    auto e = t.onAck(0, t0);
    EXPECT_EQ(e.firstBlock, 1u);
    EXPECT_EQ(e.blockCount, 4u);
    // The client got 1-2 and lost 3: it ACKs 2; the next window starts at 3.
    e = t.onAck(2, t0);
    EXPECT_EQ(e.firstBlock, 3u);
    EXPECT_EQ(e.blockCount, 4u);
    EXPECT_TRUE(t.onAck(2, t0).empty());  // duplicate
    e = t.onAck(6, t0);
    EXPECT_EQ(e.firstBlock, 7u);
    EXPECT_EQ(e.blockCount, 4u);  // 7..10
    e = t.onAck(10, t0);
    EXPECT_EQ(e.firstBlock, 11u);
    EXPECT_EQ(e.blockCount, 1u);  // the final empty block (exact multiple)
    t.onAck(11, t0);
    EXPECT_EQ(t.result(), Result::Ok);
}

TEST(TftpTransferTest, BlockNumberRollsOverToZero) {
    TransferLimits lim;
    std::uint64_t size = 70000ull * 8;  // 70000 blocks of 8 bytes
    Transfer t(size, negotiate(opts(8, 3), size, lim), lim);
    t.start(t0);
    t.onAck(0, t0);
    std::uint64_t next = 1;
    // Walk to just before the wrap, acknowledging each window end.
    while (next + 3 <= 65534) {
        auto e = t.onAck(Transfer::wireBlock(next + 2), t0);
        next += 3;
        ASSERT_EQ(e.firstBlock, next);
    }
    // Window now spans the wrap: e.g. 65533, 65534, 65535 then 0, 1, 2.
    auto e = t.onAck(Transfer::wireBlock(next + 2), t0);
    next += 3;
    EXPECT_EQ(e.firstBlock, next);
    EXPECT_EQ(Transfer::wireBlock(65536), 0);
    // ACK with a small wire number after the wrap is understood as 65536+.
    while (!t.done()) {
        std::uint64_t last = std::min<std::uint64_t>(next + 2, t.totalBlocks());
        t.onAck(Transfer::wireBlock(last), t0);
        next = last + 1;
    }
    EXPECT_EQ(t.result(), Result::Ok);
    EXPECT_EQ(t.bytesAcked(), size);
}

}  // namespace
}  // namespace pinet::core::tftp
