#include "core/boot/link_watch.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

namespace pinet::core::boot {
namespace {

using namespace std::chrono_literals;
const LinkWatch::Instant t0{};

TEST(LinkWatch, LateFirstDiscoverIsSpanningTree) {
    LinkWatch w;
    // The port blocked ~30 s: the first DISCOVER that gets through says secs = 31.
    auto f = w.onDiscover("dc:a6:32:00:00:01", 31, t0);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].problem, LinkProblem::LateStart);
    EXPECT_EQ(f[0].secs, 31);
    EXPECT_NE(f[0].message.find("began 31 s earlier"), std::string::npos) << f[0].message;
    EXPECT_NE(f[0].fix.find("portfast"), std::string::npos);
    // Reported once per boot, not for every DISCOVER of it.
    EXPECT_TRUE(w.onDiscover("dc:a6:32:00:00:01", 35, t0 + 4s).empty());
    // A board whose port forwards at once: secs 0.
    EXPECT_TRUE(w.onDiscover("dc:a6:32:00:00:02", 0, t0).empty());
    // After a quiet spell the next boot is judged again.
    EXPECT_EQ(w.onDiscover("dc:a6:32:00:00:01", 30, t0 + 10min).size(), 1u);
}

TEST(LinkWatch, DiscoversAfterOurOffersWithoutARequest) {
    LinkWatch w;
    const std::string mac = "dc:a6:32:00:00:03";
    std::vector<LinkFinding> found;
    for (int i = 0; i < 6 && found.empty(); ++i) {
        const auto now = t0 + i * 4s;
        found = w.onDiscover(mac, static_cast<std::uint16_t>(i * 4), now);
        w.onOfferSent(mac, now + 10ms);
    }
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].problem, LinkProblem::Unanswered);
    EXPECT_EQ(found[0].discovers, 4u);
    EXPECT_EQ(found[0].offersSent, 3u);
    EXPECT_NE(found[0].message.find("the answers do not reach it"), std::string::npos);
}

TEST(LinkWatch, ABoardThatRequestsIsFine) {
    LinkWatch w;
    const std::string mac = "dc:a6:32:00:00:04";
    for (int i = 0; i < 10; ++i) {
        const auto now = t0 + i * 4s;
        EXPECT_TRUE(w.onDiscover(mac, 0, now).empty()) << i;
        w.onOfferSent(mac, now);
        w.onRequest(mac, now + 100ms);  // each boot gets through (say, a reboot loop)
    }
    // Held by admission (no OFFER sent): not the network's fault.
    const std::string held = "dc:a6:32:00:00:05";
    for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(w.onDiscover(held, 0, t0 + i * 4s).empty());
    }
}

TEST(LinkWatch, TableIsBounded) {
    LinkWatchConfig c;
    c.maxBoards = 8;
    LinkWatch w(c);
    for (int i = 0; i < 100; ++i) {
        w.onDiscover(fmt::format("02:00:00:00:00:{:02x}", i), 0, t0 + i * 1ms);
    }
    EXPECT_EQ(w.tracked(), 8u);
}

}  // namespace
}  // namespace pinet::core::boot
