// The web side of `serve` on loopback: BootMonitor + WebServer + HttpBootServer
// fed with a synthetic Pi 4 boot, checked through real HTTP requests (JSON API,
// /metrics, SSE, HTTP boot with Content-Length).

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/http/http_boot.h"
#include "app/http/web_server.h"
#include "app/serve/boot_monitor.h"
#include "app/serve/fleet_reader.h"
#include "core/dhcp/dhcp_responder.h"
#include "io/file.h"
#include "io/registry/registry.h"
#include "proto/dhcp/dhcp_packet.h"
#include "proto/dhcp/pxe.h"

using namespace pinet;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

core::DhcpEvent dhcp(core::DhcpEvent::Kind kind, core::WallTime t, std::string ip = "") {
    core::DhcpEvent e;
    e.kind = kind;
    e.time = t;
    e.interface = "veth0";
    e.mac = "dc:a6:32:01:02:03";
    e.serial = "d9780558";
    e.model = "RPi4";
    e.clientIp = std::move(ip);
    return e;
}

core::TransferRecord file(const std::string& path, core::TransferRecord::Result result,
                          core::WallTime t, bool prefixed) {
    core::TransferRecord r;
    r.result = result;
    r.start = t;
    r.duration = 15ms;
    r.clientAddr = "10.0.0.50:40000";
    r.requestedPath = prefixed ? "d9780558/" + path : path;
    if (prefixed) {
        r.serial = "d9780558";
    }
    r.bytes = result == core::TransferRecord::Result::Ok ? 4096 : 0;
    r.fileSize = 4096;
    r.blockSize = 1468;
    return r;
}

void feedPi4Boot(app::serve::BootMonitor& m) {
    using K = core::DhcpEvent::Kind;
    using R = core::TransferRecord::Result;
    const auto t = std::chrono::system_clock::now();
    m.onEvent(dhcp(K::Discover, t));
    m.onEvent(dhcp(K::Offer, t + 5ms, "10.0.0.50"));
    m.onEvent(dhcp(K::Request, t + 900ms));
    m.onEvent(dhcp(K::Ack, t + 905ms, "10.0.0.50"));
    m.onEvent(file("start4.elf", R::SizeQuery, t + 1000ms, true));
    m.onEvent(file("config.txt", R::Ok, t + 1100ms, true));
    m.onEvent(file("start4.elf", R::Ok, t + 1200ms, true));
    m.onEvent(file("fixup4.dat", R::Ok, t + 1300ms, true));
    m.onEvent(file("missing.dtb", R::NotFound, t + 1350ms, true));
    m.onEvent(file("kernel8.img", R::Ok, t + 1400ms, true));
    m.flush();
}

}  // namespace

TEST(WebApi, ClientsBootsAndMetricsReflectABoot) {
    app::serve::BootMonitor monitor;
    monitor.start();
    app::serve::KnownClient enrolled;
    enrolled.serial = "aaaa0001";
    enrolled.name = "never-booted";
    enrolled.model = "cm4";
    monitor.setKnownClients({enrolled});
    app::http::WebServer web(monitor, monitor.hub());
    web.start("127.0.0.1", 0);
    feedPi4Boot(monitor);

    httplib::Client cli("127.0.0.1", web.port());
    auto res = cli.Get("/api/v1/clients");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    const auto clients = json::parse(res->body)["clients"];
    ASSERT_EQ(clients.size(), 2u);
    EXPECT_EQ(clients[0]["serial"], "d9780558");
    EXPECT_EQ(clients[0]["mac"], "dc:a6:32:01:02:03");
    EXPECT_EQ(clients[0]["ip"], "10.0.0.50");
    EXPECT_EQ(clients[0]["state"], "booted");
    EXPECT_EQ(clients[0]["last_boot"]["outcome"], "kernel_loaded");
    EXPECT_EQ(clients[1]["name"], "never-booted");
    EXPECT_EQ(clients[1]["state"], "known");

    res = cli.Get("/api/v1/clients/DC-A6-32-01-02-03");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    const auto detail = json::parse(res->body);
    ASSERT_EQ(detail["boots"].size(), 1u);
    const auto& boot = detail["boots"][0];
    EXPECT_EQ(boot["dhcp"].size(), 4u);
    EXPECT_EQ(boot["files"].size(), 6u);
    EXPECT_EQ(boot["files"][5]["path"], "d9780558/kernel8.img");
    EXPECT_EQ(boot["files"][4]["result"], "not_found");
    EXPECT_EQ(boot["kernel"], "d9780558/kernel8.img");
    EXPECT_NEAR(boot["duration_ms"].get<double>(), 1415.0, 1.0);

    EXPECT_EQ(cli.Get("/api/v1/clients/ffffffff")->status, 404);
    res = cli.Get("/api/v1/boots?limit=5");
    ASSERT_TRUE(res);
    EXPECT_EQ(json::parse(res->body)["boots"].size(), 1u);

    res = cli.Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    const auto& m = res->body;
    EXPECT_NE(m.find("pinetboot_dhcp_packets_total{type=\"discover\",result=\"ok\"} 1\n"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("pinetboot_transfers_total{protocol=\"tftp\",result=\"ok\"} 4\n"),
              std::string::npos);
    EXPECT_NE(m.find("pinetboot_transfers_total{protocol=\"tftp\",result=\"probe\"} 1\n"),
              std::string::npos);
    EXPECT_NE(m.find("pinetboot_transfer_errors_total{protocol=\"tftp\",reason=\"not_found\"} 1\n"),
              std::string::npos);
    EXPECT_NE(m.find("pinetboot_transfer_bytes_total{protocol=\"tftp\"} 16384\n"),
              std::string::npos);
    EXPECT_NE(m.find("pinetboot_boot_duration_seconds_count{outcome=\"kernel_loaded\"} 1\n"),
              std::string::npos);
    EXPECT_NE(
        m.find("pinetboot_boot_duration_seconds_bucket{outcome=\"kernel_loaded\",le=\"2\"} 1\n"),
        std::string::npos);
    EXPECT_NE(
        m.find("pinetboot_boot_duration_seconds_bucket{outcome=\"kernel_loaded\",le=\"1\"} 0\n"),
        std::string::npos);
    EXPECT_NE(m.find("# TYPE pinetboot_transfers_in_flight gauge\n"), std::string::npos);

    EXPECT_EQ(cli.Get("/healthz")->body, "ok\n");
    res = cli.Get("/?client=d9780558");
    ASSERT_TRUE(res);
    EXPECT_NE(res->body.find("\"serial\":\"d9780558\""), std::string::npos);  // inline snapshot
    EXPECT_EQ(res->body.find("/*INITIAL_DATA*/"), std::string::npos);
    EXPECT_EQ(cli.Get("/dashboard.js")->status, 200);
    EXPECT_EQ(cli.Get("/dashboard.css")->status, 200);
    web.stop();
    monitor.stop();
}

// Issue #12: a packet proxy mode deliberately leaves unanswered shows in /metrics with its
// reason, not as result="ok". Real datagrams through the responder, its events and counters
// into the monitor the way serve wires them, read back over HTTP.
TEST(WebApi, ProxyDropsShowInMetricsByReason) {
    namespace cd = core::dhcp;
    namespace d = proto::dhcp;
    cd::ResponderConfig rc;
    rc.mode = cd::Mode::Proxy;
    rc.serverIp = 0x0a000001;
    cd::DhcpResponder responder(rc, nullptr);
    app::serve::BootMonitor monitor;
    monitor.setScrapeHook([&](core::metrics::Registry& m) {
        app::serve::exportDhcpCounters(m, "veth0", responder.counters(), 0);
    });
    monitor.start();
    app::http::WebServer web(monitor, monitor.hub());
    web.start("127.0.0.1", 0);

    auto handle = [&](const d::Packet& p) {
        auto out = responder.handle(d::serialize(p), "veth0", std::chrono::system_clock::now());
        for (const auto& e : out.events) {
            monitor.onEvent(e);
        }
        return out;
    };
    // A non-Pi PXE client (an x86 PC's PXE ROM) sends DISCOVER; no boot file is configured.
    d::Packet x86;
    x86.xid = 7;
    x86.setMac(core::dhcp::Mac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
    x86.setU8(d::opt::MessageType, static_cast<std::uint8_t>(d::MessageType::Discover));
    x86.setString(d::opt::VendorClass, "PXEClient:Arch:00000:UNDI:002001");
    EXPECT_FALSE(handle(x86).reply);
    // A Pi's PXE DISCOVER gets the proxy offer; its REQUEST (to the site's DHCP server)
    // is left alone: proxy mode never ACKs.
    auto piPacket = [](d::MessageType type) {
        d::Packet p;
        p.xid = 8;
        p.setMac(core::dhcp::Mac{0xdc, 0xa6, 0x32, 0x01, 0x02, 0x03});
        p.setU8(d::opt::MessageType, static_cast<std::uint8_t>(type));
        d::PiGuid g;
        g.serial = 0xd9780558;
        p.set(d::opt::ClientMachineId, d::buildPiGuid(g));
        if (type == d::MessageType::Discover) {  // spec 2.3: the REQUEST has no option 60
            p.setString(d::opt::VendorClass, d::kPiVendorClass);
        }
        return p;
    };
    EXPECT_TRUE(handle(piPacket(d::MessageType::Discover)).reply);
    EXPECT_FALSE(handle(piPacket(d::MessageType::Request)).reply);
    monitor.flush();

    httplib::Client cli("127.0.0.1", web.port());
    auto res = cli.Get("/metrics");
    ASSERT_TRUE(res);
    const auto& m = res->body;
    EXPECT_NE(
        m.find("pinetboot_dhcp_dropped_total{interface=\"veth0\",reason=\"ignored_client\"} 1\n"),
        std::string::npos)
        << m;
    EXPECT_NE(
        m.find("pinetboot_dhcp_dropped_total{interface=\"veth0\",reason=\"proxy_no_ack\"} 1\n"),
        std::string::npos)
        << m;
    EXPECT_NE(m.find("# TYPE pinetboot_dhcp_dropped_total counter\n"), std::string::npos);
    // The Pi's packet is in the event stream, with its drop reason instead of "ok".
    EXPECT_NE(m.find("pinetboot_dhcp_packets_total{type=\"request\",result=\"proxy_no_ack\"} 1\n"),
              std::string::npos)
        << m;
    EXPECT_EQ(m.find("type=\"request\",result=\"ok\""), std::string::npos) << m;
    EXPECT_NE(m.find("pinetboot_dhcp_packets_total{type=\"discover\",result=\"ok\"} 1\n"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("pinetboot_dhcp_sent_total{interface=\"veth0\",type=\"offer\"} 1\n"),
              std::string::npos)
        << m;  // the Pi's offer, and only that
    EXPECT_NE(m.find("pinetboot_dhcp_received_total{interface=\"veth0\",type=\"discover\"} 2\n"),
              std::string::npos)
        << m;

    // The API carries the reason as a value on the boot's DHCP step.
    res = cli.Get("/api/v1/clients/d9780558");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    const auto steps = json::parse(res->body)["boots"][0]["dhcp"];
    ASSERT_EQ(steps.size(), 3u);  // DISCOVER, OFFER, REQUEST
    EXPECT_EQ(steps[0]["drop"], nullptr);
    EXPECT_EQ(steps[2]["kind"], "request");
    EXPECT_EQ(steps[2]["drop"], "proxy_no_ack");
    web.stop();
    monitor.stop();
}

TEST(WebApi, ServerSentEventsDeliverLiveEvents) {
    app::serve::BootMonitor monitor;
    monitor.start();
    app::http::WebServer web(monitor, monitor.hub());
    web.start("127.0.0.1", 0);

    std::string received;
    std::mutex mu;
    std::atomic<bool> stop{false};
    std::thread reader([&] {
        httplib::Client cli("127.0.0.1", web.port());
        cli.set_read_timeout(5, 0);
        cli.Get("/api/v1/events", [&](const char* data, size_t len) {
            std::lock_guard lock(mu);
            received.append(data, len);
            return !stop.load() && received.find("event: boot") == std::string::npos;
        });
    });
    // Wait until subscribed, then boot.
    for (int i = 0; i < 200 && monitor.hub().subscriberCount() == 0; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(monitor.hub().subscriberCount(), 1u);
    feedPi4Boot(monitor);
    reader.join();
    stop = true;
    std::lock_guard lock(mu);
    EXPECT_NE(received.find("retry: 2000"), std::string::npos);
    EXPECT_NE(received.find("event: dhcp\ndata: {"), std::string::npos) << received;
    EXPECT_NE(received.find("\"kind\":\"discover\""), std::string::npos);
    web.stop();
    monitor.stop();
}

TEST(WebApi, SlowSubscriberIsDroppedNotBuffered) {
    app::http::EventHub hub;
    auto sub = hub.subscribe();
    ASSERT_TRUE(sub);
    for (std::size_t i = 0; i < app::http::EventHub::kQueueLimit + 5; ++i) {
        hub.publish("x", "{}");
    }
    EXPECT_EQ(hub.subscriberCount(), 0u);
    EXPECT_EQ(hub.droppedSubscribers(), 1u);
    EXPECT_EQ(sub->next(10ms), std::string());  // closed
}

TEST(WebApi, HttpBootServesWithContentLengthAndReports) {
    io::TempDir dir("pnb-httpboot");
    std::filesystem::create_directories(dir.path() / "d9780558");
    std::string img(300000, '\0');
    for (std::size_t i = 0; i < img.size(); ++i) {
        img[i] = static_cast<char>(i * 7);
    }
    std::ofstream(dir.path() / "d9780558" / "boot.img", std::ios::binary) << img;
    std::ofstream(dir.path() / "d9780558" / "boot.sig") << "abc\nts: 1\n";

    app::serve::BootMonitor monitor;
    monitor.start();
    const std::string root = dir.path().string();
    app::http::HttpBootServer boot([root] { return root; }, &monitor);
    boot.start("127.0.0.1", 0);
    httplib::Client cli("127.0.0.1", boot.port());
    cli.set_follow_location(false);
    httplib::Headers gz{{"Accept-Encoding", "gzip, deflate, br"}};
    auto res = cli.Get("/d9780558/boot.img", gz);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Length"), "300000");
    EXPECT_FALSE(res->has_header("Transfer-Encoding"));
    EXPECT_FALSE(res->has_header("Content-Encoding"));
    EXPECT_EQ(res->body, img);
    res = cli.Get("/d9780558/boot.sig", gz);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->get_header_value("Content-Length"), "10");
    EXPECT_FALSE(res->has_header("Content-Encoding"));
    EXPECT_EQ(cli.Get("/nope/boot.img")->status, 404);
    EXPECT_EQ(cli.Get("/../etc/boot.img")->status, 403);
    EXPECT_EQ(cli.Get("/d9780558/config.txt")->status, 403);
    boot.stop();
    monitor.flush();

    const auto detail = monitor.clientJson("d9780558");
    ASSERT_TRUE(detail);
    const auto files = json::parse(*detail)["boots"][0]["files"];
    // The 404/403 requests came from the same IP, so they join the same client.
    ASSERT_EQ(files.size(), 5u);
    // A record is made when its response is done, on the worker that sent it: the order
    // of two back-to-back responses is not fixed, so look them up by path.
    auto byPath = [&](const std::string& path) {
        for (const auto& f : files) {
            if (f["path"] == path) {
                return f;
            }
        }
        return json();
    };
    const auto imgRecord = byPath("d9780558/boot.img");
    ASSERT_FALSE(imgRecord.is_null());
    EXPECT_FALSE(byPath("d9780558/boot.sig").is_null());
    EXPECT_EQ(imgRecord["protocol"], "http");
    EXPECT_EQ(imgRecord["bytes"], 300000);
    EXPECT_EQ(imgRecord["result"], "ok");
    EXPECT_EQ(json::parse(*detail)["client"]["state"], "booted");  // boot.img = kernel loaded
    const auto m = monitor.metricsText();
    EXPECT_NE(m.find("pinetboot_transfers_total{protocol=\"http\",result=\"ok\"} 2\n"),
              std::string::npos);
    EXPECT_NE(m.find("pinetboot_transfers_total{protocol=\"http\",result=\"not_found\"} 1\n"),
              std::string::npos);
    EXPECT_NE(m.find("pinetboot_transfers_total{protocol=\"http\",result=\"refused\"} 2\n"),
              std::string::npos);
    monitor.stop();
}

// Regression: HTTP boot used a plain open() of root + path, so a symlink inside the
// boot root served a file from anywhere; it now opens beneath the root (as TFTP).
TEST(WebApi, HttpBootRefusesSymlinksLeadingOutOfTheRoot) {
    io::TempDir dir("pnb-httpboot");
    io::TempDir outside("pnb-httpboot-outside");
    std::filesystem::create_directories(dir.path() / "d9780558");
    std::filesystem::create_directories(dir.path() / "inside");
    std::ofstream(outside.path() / "boot.img", std::ios::binary) << "secret";
    std::ofstream(dir.path() / "inside" / "boot.img", std::ios::binary) << "fine";
    // A file symlink, a directory symlink (both absolute, out of the root), a relative
    // one climbing out, and a relative one that stays inside.
    std::filesystem::create_symlink(outside.path() / "boot.img",
                                    dir.path() / "d9780558" / "boot.img");
    std::filesystem::create_directory_symlink(outside.path(), dir.path() / "dc-a6-32-01-36-c2");
    std::filesystem::create_symlink("../../" + outside.path().filename().string() + "/boot.img",
                                    dir.path() / "inside" / "boot.sig");
    std::filesystem::create_directory_symlink("inside", dir.path() / "alias");

    const std::string root = dir.path().string();
    app::http::HttpBootServer boot([root] { return root; }, nullptr);
    boot.start("127.0.0.1", 0);
    httplib::Client cli("127.0.0.1", boot.port());
    cli.set_follow_location(false);
    for (const char* path :
         {"/d9780558/boot.img", "/dc-a6-32-01-36-c2/boot.img", "/inside/boot.sig"}) {
        auto res = cli.Get(path);
        ASSERT_TRUE(res) << path;
        EXPECT_TRUE(res->status == 403 || res->status == 404) << path << ": " << res->status;
        EXPECT_EQ(res->body.find("secret"), std::string::npos) << path;
    }
    auto res = cli.Get("/alias/boot.img");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "fine");
    boot.stop();
}

TEST(HttpBootPath, OnlyBootFilesWithPlainPrefixes) {
    std::string prefix;
    std::string name;
    EXPECT_TRUE(app::http::parseBootPath("/boot.img", prefix, name));
    EXPECT_EQ(prefix, "");
    EXPECT_TRUE(app::http::parseBootPath("/net_install/abc/boot.sig", prefix, name));
    EXPECT_EQ(prefix, "net_install/abc");
    EXPECT_EQ(name, "boot.sig");
    EXPECT_FALSE(app::http::parseBootPath("/../boot.img", prefix, name));
    EXPECT_FALSE(app::http::parseBootPath("/a/kernel8.img", prefix, name));
    EXPECT_FALSE(app::http::parseBootPath("/a b/boot.img", prefix, name));
    EXPECT_FALSE(app::http::parseBootPath("boot.img", prefix, name));
    // TFTP's sanitiser: "//" and "." are dropped, control bytes refused.
    EXPECT_TRUE(app::http::parseBootPath("//a/./b//boot.img", prefix, name));
    EXPECT_EQ(prefix, "a/b");
    EXPECT_FALSE(app::http::parseBootPath(std::string("/a\x01/boot.img"), prefix, name));
    EXPECT_FALSE(app::http::parseBootPath("/a/../boot.img", prefix, name));
}

// ---- HTTP boot under hostile connections (issue #13 item 9). Loopback is all of
// 127/8 on Linux: each test client binds its own source address, so the per-address
// cap sees distinct peers.

namespace {

/// A TCP connection to 127.0.0.1:@p port from @p source; -1 on failure.
int connectFrom(const char* source, std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &src.sin_addr);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

void sendAll(int fd, std::string_view s) {
    (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
}

/// Everything the server sends until it closes or @p timeout passes.
std::string readUntilClosed(int fd, std::chrono::milliseconds timeout) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            return out;
        }
        char buf[4096];
        const auto n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            return out;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

/// One GET with Connection: close from @p source; the whole response.
std::string rawGet(const char* source, std::uint16_t port, const std::string& path,
                   std::chrono::milliseconds timeout) {
    const int fd = connectFrom(source, port);
    if (fd < 0) {
        return {};
    }
    sendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    auto out = readUntilClosed(fd, timeout);
    ::close(fd);
    return out;
}

struct BootDir {
    io::TempDir dir{"pnb-httpboot"};
    std::string root;
    BootDir() {
        std::filesystem::create_directories(dir.path() / "d9780558");
        std::ofstream(dir.path() / "d9780558" / "boot.sig") << "abc\nts: 1\n";
        root = dir.path().string();
    }
};

}  // namespace

// Regression: 16 workers with a 30 s per-read timeout and no overall deadline, so
// 16 connections that send half a request held HTTP boot for every board.
TEST(WebApi, HttpBootServesBoardsWhileSlowClientsHoldConnections) {
    BootDir d;
    app::http::HttpBootServer boot([&d] { return d.root; }, nullptr);
    boot.start("127.0.0.1", 0);
    std::vector<int> slow;
    for (int a = 0; a < 10; ++a) {
        const std::string src = "127.0.1." + std::to_string(a + 1);
        for (int i = 0; i < 4; ++i) {  // 40 connections, 4 per address (under the cap)
            const int fd = connectFrom(src.c_str(), boot.port());
            ASSERT_GE(fd, 0);
            sendAll(fd, "GET /d9780558/boot.sig HTTP/1.1\r\nHost: x\r\n");  // never finished
            slow.push_back(fd);
        }
    }
    std::this_thread::sleep_for(200ms);  // let the workers pick them up
    const auto t0 = std::chrono::steady_clock::now();
    const auto res = rawGet("127.0.2.1", boot.port(), "/d9780558/boot.sig", 5s);
    EXPECT_EQ(res.rfind("HTTP/1.1 200", 0), 0u) << res;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    for (int fd : slow) {
        ::close(fd);
    }
    boot.stop();
}

// Regression: a client trickling its headers a byte at a time kept its worker as
// long as it liked (each byte restarted the 30 s read timeout).
TEST(WebApi, HttpBootClosesConnectionsThatMissTheHeaderDeadline) {
    BootDir d;
    app::http::HttpBootLimits limits;
    limits.headerDeadline = 1s;
    app::http::HttpBootServer boot([&d] { return d.root; }, nullptr, limits);
    boot.start("127.0.0.1", 0);
    const int fd = connectFrom("127.0.3.1", boot.port());
    ASSERT_GE(fd, 0);
    const std::string request = "GET /d9780558/boot.sig HTTP/1.1\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaa";
    const auto t0 = std::chrono::steady_clock::now();
    bool closed = false;
    for (std::size_t i = 0; i < request.size() && !closed; ++i) {
        sendAll(fd, request.substr(i, 1));
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 200) > 0) {
            char c;
            closed = ::recv(fd, &c, 1, 0) <= 0;
        }
    }
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_TRUE(closed) << "still open after " << request.size() << " trickled bytes";
    EXPECT_LT(took, 3s);
    EXPECT_EQ(boot.headerTimeouts(), 1u);
    ::close(fd);
    boot.stop();
}

// Regression: one address could take every worker.
TEST(WebApi, HttpBootCapsConnectionsPerAddress) {
    BootDir d;
    app::http::HttpBootLimits limits;
    limits.perAddress = 2;
    app::http::HttpBootServer boot([&d] { return d.root; }, nullptr, limits);
    boot.start("127.0.0.1", 0);
    std::vector<int> held;
    for (int i = 0; i < 2; ++i) {
        held.push_back(connectFrom("127.0.4.1", boot.port()));
        ASSERT_GE(held.back(), 0);
        sendAll(held.back(), "GET /d9780558/boot.sig HTTP/1.1\r\n");
    }
    std::this_thread::sleep_for(200ms);
    const auto third = rawGet("127.0.4.1", boot.port(), "/d9780558/boot.sig", 3s);
    EXPECT_EQ(third.rfind("HTTP/1.1 503", 0), 0u) << third;
    EXPECT_EQ(boot.refusedOverCap(), 1u);
    const auto other = rawGet("127.0.4.2", boot.port(), "/d9780558/boot.sig", 3s);
    EXPECT_EQ(other.rfind("HTTP/1.1 200", 0), 0u) << other;
    // A slot is given back when its connection ends.
    ::close(held.back());
    held.pop_back();
    std::this_thread::sleep_for(200ms);
    const auto again = rawGet("127.0.4.1", boot.port(), "/d9780558/boot.sig", 3s);
    EXPECT_EQ(again.rfind("HTTP/1.1 200", 0), 0u) << again;
    for (int fd : held) {
        ::close(fd);
    }
    boot.stop();
}

// Regression (issue #13 item 10): any Host header was answered, so DNS rebinding
// (a page's own name re-pointed at 127.0.0.1) could read the API.
TEST(WebApi, RequestsForOtherHostNamesAreRefused) {
    app::serve::BootMonitor monitor;
    monitor.start();
    app::http::WebServer web(monitor, monitor.hub());
    web.setAllowedHosts({"NetBoot.lab"});
    web.start("127.0.0.1", 0);
    httplib::Client cli("127.0.0.1", web.port());
    for (const char* host : {"evil.example", "evil.example:8080", "localhost.evil.example"}) {
        auto res = cli.Get("/api/v1/clients", {{"Host", host}});
        ASSERT_TRUE(res) << host;
        EXPECT_EQ(res->status, 421) << host;
        EXPECT_EQ(res->body.find("clients"), std::string::npos) << host;
    }
    for (const std::string& host : std::vector<std::string>{
             "netboot.lab", "localhost:" + std::to_string(web.port()), "127.0.0.1"}) {
        auto res = cli.Get("/api/v1/clients", {{"Host", host}});
        ASSERT_TRUE(res) << host;
        EXPECT_EQ(res->status, 200) << host;
    }
    EXPECT_EQ(cli.Get("/")->status, 200);  // httplib's own Host: 127.0.0.1:PORT
    web.stop();
    monitor.stop();
}

// ---- GET /api/v1/images and /api/v1/doctor (issue 16)

namespace {

void writeText(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

}  // namespace

TEST(WebApi, ImagesAndDoctorComeFromTheStateDirectoryAndChangeNothing) {
    io::TempDir state("pnb-fleet");
    writeText(state.path() / "images" / "os" / "image.json",
              R"({"name":"os","table":"gpt","boot_fs":"FAT32","root_bytes":4096,)"
              R"("models":"pi4 cm4"})");
    writeText(state.path() / "images" / "os" / "boot" / "start4.elf", std::string(100, 'x'));
    {
        auto reg = io::Registry::open(state.path());
        ASSERT_TRUE(reg) << reg.error().message;
        io::ClientRecord c;
        c.serial = "aaaa0001";
        c.image = "os";
        c.rootMode = "shared";
        c.bootDir = (state.path() / "tftp" / "aaaa0001").string();
        c.rootExport = (state.path() / "images" / "os" / "root").string();
        ASSERT_TRUE(reg->enroll(c));
        ASSERT_TRUE(reg->upsertDiscovered("bbbb0002", std::nullopt, "cm4", 1));
    }
    auto reg = io::Registry::open(state.path());
    ASSERT_TRUE(reg);
    const auto generation = *reg->generation();
    const auto settings = *reg->settings();

    app::config::Config cfg;
    cfg.stateDir = state.path().string();
    cfg.nfsServer = "127.0.0.1";  // a setting from the file: used, never stored
    auto cfgPtr = std::make_shared<const app::config::Config>(cfg);
    app::serve::ServeFleetReader reader([cfgPtr] { return cfgPtr; });
    app::serve::BootMonitor monitor;
    monitor.start();
    app::http::WebServer web(monitor, monitor.hub());
    web.setFleetReader(&reader);
    web.start("127.0.0.1", 0);
    httplib::Client cli("127.0.0.1", web.port());

    auto res = cli.Get("/api/v1/images");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    const auto images = json::parse(res->body)["images"];
    ASSERT_EQ(images.size(), 1u);
    EXPECT_EQ(images[0]["name"], "os");
    EXPECT_EQ(images[0]["size_bytes"], 4196);
    EXPECT_EQ(images[0]["layout"]["table"], "gpt");
    EXPECT_EQ(images[0]["clients"], json({"aaaa0001"}));

    res = cli.Get("/api/v1/doctor");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    const auto doctor = json::parse(res->body);
    bool discovered = false;
    bool bootTree = false;
    for (const auto& f : doctor["findings"]) {
        EXPECT_TRUE(f.contains("severity") && f.contains("check") && f.contains("message") &&
                    f.contains("fix"));
        discovered =
            discovered || (f["check"] == "client bbbb0002" &&
                           f["fix"].get<std::string>().find("client add") != std::string::npos);
        bootTree = bootTree || (f["check"] == "client aaaa0001" && f["severity"] == "FAIL");
    }
    EXPECT_TRUE(discovered) << res->body;
    EXPECT_TRUE(bootTree) << res->body;  // its boot directory was never written
    EXPECT_GE(doctor["problems"].get<int>(), 1);
    ASSERT_EQ(doctor["skipped"].size(), 1u);
    EXPECT_EQ(doctor["skipped"][0]["check"], "dhcp");
    // Read-only: no registry write, no setting stored (nfs server came from the config).
    EXPECT_EQ(*reg->generation(), generation);
    EXPECT_EQ(*reg->settings(), settings);
    web.stop();
    monitor.stop();
}

namespace {

struct BrokenReader final : app::http::FleetReader {
    app::http::ApiResult<std::string> imagesJson() override {
        return tl::unexpected(app::http::ApiError{503, "registry_unavailable", "locked \"db\""});
    }
    app::http::ApiResult<std::string> doctorJson() override { return std::string("{}"); }
};

}  // namespace

TEST(WebApi, FleetErrorsAreJsonWithACode) {
    app::serve::BootMonitor monitor;
    monitor.start();
    {
        app::http::WebServer web(monitor, monitor.hub());  // no reader at all
        web.start("127.0.0.1", 0);
        httplib::Client cli("127.0.0.1", web.port());
        auto res = cli.Get("/api/v1/doctor");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 404);
        EXPECT_EQ(json::parse(res->body)["error"]["code"], "not_available");
    }
    BrokenReader broken;
    app::http::WebServer web(monitor, monitor.hub());
    web.setFleetReader(&broken);
    web.start("127.0.0.1", 0);
    httplib::Client cli("127.0.0.1", web.port());
    auto res = cli.Get("/api/v1/images");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    const auto err = json::parse(res->body)["error"];
    EXPECT_EQ(err["code"], "registry_unavailable");
    EXPECT_EQ(err["message"], "locked \"db\"");
    web.stop();
    monitor.stop();
}
