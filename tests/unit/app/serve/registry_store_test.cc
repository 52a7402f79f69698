#include "app/serve/registry_store.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "io/file.h"

namespace pinet::app::serve {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

SeenClient fromDhcp(std::string serial, std::string mac) {
    SeenClient s;
    s.serial = std::move(serial);
    s.mac = std::move(mac);
    s.model = "RPi4";
    s.fromDhcp = true;
    return s;
}

TEST(DiscoveryGate, OnlyDhcpOncePerIntervalPerBoard) {
    DiscoveryGate gate;
    const auto t0 = Clock::time_point(1000s);
    SeenClient transfer;
    transfer.serial = "0badf00d";  // named by a TFTP path only
    EXPECT_FALSE(gate.admit(transfer, t0));

    const auto pi = fromDhcp("d9780558", "dc:a6:32:01:02:03");
    EXPECT_TRUE(gate.admit(pi, t0));
    EXPECT_FALSE(gate.admit(pi, t0 + 59s));  // the same board again within the minute
    auto otherSerial = pi;
    otherSerial.serial = "12345678";  // one MAC is one source, whatever serial it claims
    EXPECT_FALSE(gate.admit(otherSerial, t0 + 30s));
    EXPECT_TRUE(gate.admit(fromDhcp("d9780559", "dc:a6:32:01:02:04"), t0 + 1s));
    EXPECT_TRUE(gate.admit(pi, t0 + 60s));
}

TEST(DiscoveryGate, RemembersABoundedNumberOfSources) {
    DiscoveryGate gate({60s, 4});
    const auto t0 = Clock::time_point(1000s);
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(gate.admit(fromDhcp("d9780558", fmt::format("02:00:00:00:00:0{}", i)), t0));
    }
    // A fifth source while all four are recent: the memory starts afresh, so it and the
    // earlier ones are admitted once more (bounded memory, at worst maxSources per interval).
    EXPECT_TRUE(gate.admit(fromDhcp("d9780558", "02:00:00:00:00:09"), t0 + 1s));
    EXPECT_FALSE(gate.admit(fromDhcp("d9780558", "02:00:00:00:00:09"), t0 + 2s));
    EXPECT_TRUE(gate.admit(fromDhcp("d9780558", "02:00:00:00:00:00"), t0 + 2s));
}

// Regression (issue #13 item 7): every RRQ for `<8 hex digits>/x` added a registry
// row (300 requests, 300 rows). The monitor's seen hook wired as the daemon wires it
// (DiscoveryGate, then the SQLite store).
TEST(DiscoveryGate, TransfersForInventedSerialsAddNoRowsPiDhcpDoes) {
    io::TempDir dir("pnb-discovery");
    auto store = openRegistryStore((dir.path() / "state").string());
    BootMonitor monitor;
    int hookCalls = 0;
    // Shared, as in the daemon: the monitor copies its hook for each call.
    monitor.setSeenHook([&, gate = std::make_shared<DiscoveryGate>()](const SeenClient& seen) {
        ++hookCalls;
        if (gate->admit(seen, Clock::now())) {
            store->recordSeen(seen.serial, seen.mac, seen.model);
        }
    });
    monitor.start();
    const auto t = std::chrono::system_clock::now();
    for (int i = 0; i < 300; ++i) {
        core::TransferRecord r;
        r.result = core::TransferRecord::Result::NotFound;
        r.start = t;
        r.clientAddr = fmt::format("10.0.{}.{}:4000", i / 200, i % 200 + 1);
        r.serial = fmt::format("{:08x}", 0x10000000 + i);
        r.requestedPath = *r.serial + "/x";
        monitor.onEvent(r);
    }
    monitor.flush();
    EXPECT_TRUE(store->list().empty());

    core::DhcpEvent d;
    d.kind = core::DhcpEvent::Kind::Discover;
    d.time = t;
    d.interface = "s0";
    d.mac = "dc:a6:32:01:02:03";
    d.serial = "d9780558";
    d.model = "RPi4";
    monitor.onEvent(d);
    monitor.flush();
    const auto rows = store->list();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].serial, "d9780558");
    EXPECT_EQ(rows[0].mac, "dc:a6:32:01:02:03");
    EXPECT_TRUE(rows[0].discovered);
    // The same board's next boot within the minute writes nothing more.
    const auto version = store->version();
    const int callsBefore = hookCalls;
    core::TransferRecord k;
    k.result = core::TransferRecord::Result::Ok;
    k.start = t + 1s;
    k.clientAddr = "10.0.9.9:4000";
    k.serial = "d9780558";
    k.requestedPath = "d9780558/kernel8.img";
    monitor.onEvent(k);
    d.time = t + 5s;
    monitor.onEvent(d);  // a bootloader DISCOVER after files: a new boot
    monitor.flush();
    EXPECT_GT(hookCalls, callsBefore);
    EXPECT_EQ(store->version(), version);
    monitor.stop();
}

}  // namespace
}  // namespace pinet::app::serve
