#include "core/http/auth.h"

#include <gtest/gtest.h>

namespace pinet::core::http {
namespace {

using namespace std::chrono_literals;
const AuthClock::time_point t0{};

TEST(Auth, ConstantTimeEqualComparesWholeStrings) {
    EXPECT_TRUE(constantTimeEqual("abc", "abc"));
    EXPECT_TRUE(constantTimeEqual("", ""));
    EXPECT_FALSE(constantTimeEqual("abc", "abd"));
    EXPECT_FALSE(constantTimeEqual("abc", "ab"));
    EXPECT_FALSE(constantTimeEqual("ab", "abc"));
    EXPECT_FALSE(constantTimeEqual("", "a"));
    // A prefix with NULs padded does not match either.
    EXPECT_FALSE(constantTimeEqual(std::string_view("ab\0", 3), "ab"));
}

TEST(Auth, BearerTokenParsesTheSchemeWithoutCase) {
    EXPECT_EQ(bearerToken("Bearer abc123"), "abc123");
    EXPECT_EQ(bearerToken("bearer   abc123  "), "abc123");
    EXPECT_EQ(bearerToken("BEARER abc"), "abc");
    EXPECT_FALSE(bearerToken("Basic dXNlcjpwYXNz"));
    EXPECT_FALSE(bearerToken("Bearer"));
    EXPECT_FALSE(bearerToken("Bearer "));
    EXPECT_FALSE(bearerToken("Bearerabc"));
    EXPECT_FALSE(bearerToken("Bearer a b"));
    EXPECT_FALSE(bearerToken(""));
}

TEST(Auth, CookieValueFindsTheNamedCookie) {
    EXPECT_EQ(cookieValue("a=1; pinetboot_session=xyz; b=2", "pinetboot_session"), "xyz");
    EXPECT_EQ(cookieValue("pinetboot_session=\"q\"", "pinetboot_session"), "q");
    EXPECT_FALSE(cookieValue("pinetboot_sessionx=1; x=2", "pinetboot_session"));
    EXPECT_FALSE(cookieValue("", "a"));
    EXPECT_FALSE(cookieValue("junk; ;;", "a"));
    EXPECT_EQ(cookieValue("a=", "a"), "");
}

TEST(SessionTable, SessionsExpireWhenIdleAndAfterTheirLifetime) {
    SessionLimits lim;
    lim.idle = 10min;
    lim.absolute = 1h;
    SessionTable t(lim);
    t.add("id1", "csrf1", t0);
    auto s = t.use("id1", t0 + 9min);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->csrf, "csrf1");
    EXPECT_FALSE(t.use("id2", t0 + 9min));
    EXPECT_FALSE(t.use("id", t0 + 9min));  // a prefix is not the id
    // Used every 9 minutes it stays, until its hour is up.
    for (auto at : {18min, 27min, 36min, 45min, 54min, 59min}) {
        EXPECT_TRUE(t.use("id1", t0 + at)) << at.count();
    }
    EXPECT_FALSE(t.use("id1", t0 + 60min));
    EXPECT_EQ(t.size(), 0u);
    // Idle for 10 minutes: gone.
    t.add("id3", "c", t0);
    EXPECT_FALSE(t.use("id3", t0 + 10min));
}

TEST(SessionTable, BoundedByEvictingTheLeastRecentlyUsed) {
    SessionLimits lim;
    lim.maxSessions = 2;
    SessionTable t(lim);
    t.add("a", "1", t0);
    t.add("b", "2", t0 + 1s);
    ASSERT_TRUE(t.use("a", t0 + 2s));  // b is now the least recently used
    t.add("c", "3", t0 + 3s);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_TRUE(t.use("a", t0 + 4s));
    EXPECT_FALSE(t.use("b", t0 + 4s));
    EXPECT_TRUE(t.use("c", t0 + 4s));
    t.remove("a");
    EXPECT_FALSE(t.use("a", t0 + 5s));
    t.clear();
    EXPECT_FALSE(t.use("c", t0 + 5s));
}

TEST(SignInLimiter, FiveFailuresThenOneEveryTwelveSeconds) {
    SignInLimiter l;
    const std::string ip = "192.0.2.7";
    for (int i = 0; i < 5; ++i) {
        EXPECT_FALSE(l.retryAfter(ip, t0)) << i;
        l.failed(ip, t0);
    }
    auto wait = l.retryAfter(ip, t0);
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 12s);
    EXPECT_EQ(*l.retryAfter(ip, t0 + 5s), 7s);
    // Another address is not affected.
    EXPECT_FALSE(l.retryAfter("192.0.2.8", t0));
    // After 12 s one more attempt; failing it closes the door again.
    EXPECT_FALSE(l.retryAfter(ip, t0 + 12s));
    l.failed(ip, t0 + 12s);
    EXPECT_TRUE(l.retryAfter(ip, t0 + 12s));
    // After a minute the bucket is full and forgotten.
    EXPECT_FALSE(l.retryAfter(ip, t0 + 72s));
    EXPECT_EQ(l.addresses(), 0u);
}

TEST(SignInLimiter, TableIsBounded) {
    LimiterConfig cfg;
    cfg.maxAddresses = 3;
    SignInLimiter l(cfg);
    for (int i = 0; i < 10; ++i) {
        l.failed("10.0.0." + std::to_string(i), t0 + std::chrono::seconds(i));
    }
    EXPECT_EQ(l.addresses(), 3u);
}

}  // namespace
}  // namespace pinet::core::http
