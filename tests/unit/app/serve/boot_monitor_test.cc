#include "app/serve/boot_monitor.h"

#include <gtest/gtest.h>

#include <vector>

namespace pinet::app::serve {
namespace {

using namespace std::chrono_literals;
namespace cd = core::dhcp;

core::DhcpEvent discover(core::WallTime t, std::optional<cd::Drop> drop = std::nullopt) {
    core::DhcpEvent e;
    e.kind = core::DhcpEvent::Kind::Discover;
    e.time = t;
    e.interface = "s0";
    e.mac = "dc:a6:32:01:02:03";
    e.serial = "d9780558";
    e.model = "RPi4";
    e.drop = drop;
    return e;
}

TEST(ExportDhcpCounters, TotalsByTypeAndReason) {
    BootMonitor m;  // declares the metrics
    cd::DhcpCounters c;
    c.received[0] = 3;  // DISCOVER
    c.sent[1] = 1;      // OFFER
    c.dropped[static_cast<std::size_t>(cd::Drop::IgnoredClient)] = 2;
    c.dropped[static_cast<std::size_t>(cd::Drop::Truncated)] = 1;
    exportDhcpCounters(m.metrics(), "s0", c, 0);
    exportDhcpCounters(m.metrics(), "s0", c, 0);  // absolute totals: a second scrape adds nothing
    const auto text = m.metrics().render();
    EXPECT_NE(text.find("pinetboot_dhcp_received_total{interface=\"s0\",type=\"discover\"} 3\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("pinetboot_dhcp_sent_total{interface=\"s0\",type=\"offer\"} 1\n"),
              std::string::npos);
    EXPECT_NE(
        text.find("pinetboot_dhcp_dropped_total{interface=\"s0\",reason=\"ignored_client\"} 2\n"),
        std::string::npos);
    EXPECT_NE(text.find("pinetboot_dhcp_dropped_total{interface=\"s0\",reason=\"truncated\"} 1\n"),
              std::string::npos);
    EXPECT_EQ(text.find("reason=\"proxy_no_ack\""), std::string::npos);  // zero: not shown
    EXPECT_NE(text.find("pinetboot_dhcp_send_errors_total{interface=\"s0\"} 0\n"),
              std::string::npos);
}

TEST(BootMonitor, DroppedPiPacketIsCountedByReason) {
    BootMonitor m;
    m.start();
    const auto t = std::chrono::system_clock::now();
    m.onEvent(discover(t));
    auto req = discover(t + 10ms, cd::Drop::ProxyNoAck);
    req.kind = core::DhcpEvent::Kind::Request;
    m.onEvent(req);
    m.flush();
    const auto text = m.metricsText();
    EXPECT_NE(text.find("pinetboot_dhcp_packets_total{type=\"discover\",result=\"ok\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_NE(
        text.find("pinetboot_dhcp_packets_total{type=\"request\",result=\"proxy_no_ack\"} 1\n"),
        std::string::npos)
        << text;
    m.stop();
}

TEST(BootMonitor, SeenHookOncePerBootAndKnowsTheRegistry) {
    BootMonitor m;
    std::vector<SeenClient> seen;
    m.setSeenHook([&](const SeenClient& s) { seen.push_back(s); });
    KnownClient k;
    k.serial = "d9780558";
    m.setKnownClients({k});
    m.start();
    const auto t = std::chrono::system_clock::now();
    m.onEvent(discover(t));
    m.onEvent(discover(t + 1s));  // a retry in the same boot: nothing new
    m.flush();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].serial, "d9780558");
    EXPECT_EQ(seen[0].mac, "dc:a6:32:01:02:03");
    EXPECT_EQ(seen[0].model, "RPi4");
    EXPECT_TRUE(seen[0].registered);
    auto moved = discover(t + 2s);
    moved.mac = "dc:a6:32:09:09:09";  // the same serial on another MAC (a moved SD card)
    m.onEvent(moved);
    m.flush();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].mac, "dc:a6:32:09:09:09");
    m.stop();
}

}  // namespace
}  // namespace pinet::app::serve
