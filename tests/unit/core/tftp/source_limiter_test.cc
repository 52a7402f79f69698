#include "core/tftp/source_limiter.h"

#include <gtest/gtest.h>

namespace pinet::core::tftp {
namespace {

using namespace std::chrono_literals;
using V = SourceLimiter::Verdict;

SourceKey ip(std::uint8_t last) {
    SourceKey k{};
    k[10] = 0xff;
    k[11] = 0xff;
    k[15] = last;
    return k;
}

TEST(TftpSourceLimiterTest, ConcurrencyCapPerSource) {
    SourceLimiter lim({.maxConcurrent = 2, .requestsPerSecond = 100, .burst = 100});
    auto now = SourceLimiter::Clock::time_point(1s);
    EXPECT_EQ(lim.admit(ip(1), now), V::Ok);
    EXPECT_EQ(lim.admit(ip(1), now), V::Ok);
    EXPECT_EQ(lim.admit(ip(1), now), V::TooManyConcurrent);
    EXPECT_EQ(lim.admit(ip(2), now), V::Ok);  // other sources are unaffected
    lim.release(ip(1));
    EXPECT_EQ(lim.admit(ip(1), now), V::Ok);
    EXPECT_EQ(lim.concurrent(ip(1)), 2u);
}

TEST(TftpSourceLimiterTest, RateBucketRefills) {
    SourceLimiter lim({.maxConcurrent = 1000, .requestsPerSecond = 10, .burst = 3});
    auto now = SourceLimiter::Clock::time_point(1s);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(lim.admit(ip(1), now), V::Ok);
    }
    EXPECT_EQ(lim.admit(ip(1), now), V::RateLimited);
    EXPECT_EQ(lim.admit(ip(1), now + 50ms), V::RateLimited);
    EXPECT_EQ(lim.admit(ip(1), now + 100ms), V::Ok);  // one token per 100 ms
}

TEST(TftpSourceLimiterTest, TableIsBoundedAndExpires) {
    SourceLimiter lim({.maxConcurrent = 10, .requestsPerSecond = 10, .burst = 2, .maxSources = 2});
    auto now = SourceLimiter::Clock::time_point(1s);
    EXPECT_EQ(lim.admit(ip(1), now), V::Ok);
    EXPECT_EQ(lim.admit(ip(2), now), V::Ok);
    EXPECT_EQ(lim.admit(ip(3), now), V::TableFull);
    lim.release(ip(1));
    // ip(1) is idle and its bucket refills after 100 ms: it can be forgotten.
    EXPECT_EQ(lim.admit(ip(3), now + 1s), V::Ok);
    EXPECT_EQ(lim.trackedSources(), 2u);
}

}  // namespace
}  // namespace pinet::core::tftp
