// Issue #13, item 1: one packet must not take the daemon down. Bytes that are
// not UTF-8, and control bytes, in a TFTP file name, a TFTP ERROR text, an
// HTTP-boot path and a client's notes, through the real servers, the monitor
// and the web API on loopback. Before the fix, the first of them made
// nlohmann::json::dump() throw on the monitor's thread and std::terminate
// ended the whole process (every server with it).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/http/http_boot.h"
#include "app/http/web_server.h"
#include "app/serve/boot_monitor.h"
#include "app/tftp/tftp_server.h"
#include "io/file.h"
#include "lib/udp_client.h"
#include "proto/tftp/packet.h"

using namespace pinet;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace pt = proto::tftp;

namespace {

/// Forwards to the monitor and keeps a copy, to look at what entered.
class TeeSink final : public core::BootEventSink {
public:
    explicit TeeSink(core::BootEventSink& next) : next_(next) {}
    void onEvent(const core::BootEvent& e) override {
        {
            std::lock_guard lock(mutex_);
            if (const auto* r = std::get_if<core::TransferRecord>(&e)) {
                records_.push_back(*r);
            }
        }
        next_.onEvent(e);
    }
    std::vector<core::TransferRecord> records() {
        std::lock_guard lock(mutex_);
        return records_;
    }
    bool waitFor(std::size_t n) {
        for (int i = 0; i < 500 && records().size() < n; ++i) {
            std::this_thread::sleep_for(10ms);
        }
        return records().size() >= n;
    }

private:
    core::BootEventSink& next_;
    std::mutex mutex_;
    std::vector<core::TransferRecord> records_;
};

std::vector<std::uint8_t> rrq(const std::string& name, std::vector<pt::Option> opts = {}) {
    return pt::buildRequest(pt::Request{pt::Opcode::Rrq, name, pt::Mode::Octet, std::move(opts)});
}

bool controlFree(const std::string& s) {
    for (char c : s) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

}  // namespace

TEST(HostileInput, BadBytesInNamesTextsAndNotesStopNothing) {
    io::TempDir dir("pnb-hostile");
    const auto root = dir.path();
    std::filesystem::create_directories(root / "d9780558");
    std::ofstream(root / "start4.elf", std::ios::binary) << std::string(5000, 's');

    app::serve::BootMonitor monitor;
    monitor.start();
    app::serve::KnownClient latin1;
    latin1.serial = "aaaa0001";
    latin1.name =
        "rack\x01"
        "7";
    latin1.notes = "caf\xe9 \xff";  // Latin-1, as a shell in a Latin-1 locale passes it
    monitor.setKnownClients({latin1});
    app::http::WebServer web(monitor, monitor.hub());
    web.start("127.0.0.1", 0);
    TeeSink tee(monitor);
    app::http::HttpBootServer httpBoot([r = root.string()] { return r; }, &tee);
    httpBoot.start("127.0.0.1", 0);
    app::TftpServerConfig cfg;
    cfg.listen = "127.0.0.1:0";
    cfg.root = root;
    auto tftp = app::TftpServer::create(cfg);
    ASSERT_TRUE(tftp) << tftp.error().message;
    (*tftp)->setEventSink(&tee);
    (*tftp)->start();
    const auto port = (*tftp)->port();

    // 1. File names that are not UTF-8, or forge a log line.
    test::UdpClient a;
    a.sendTo(port, rrq("\xff\xfe.txt"));
    ASSERT_TRUE(a.receive(2s));  // ERROR 1
    test::UdpClient b;
    b.sendTo(port, rrq("d9780558/a\nINFO forged line"));
    ASSERT_TRUE(b.receive(2s));
    // 2. A client ERROR whose text is not UTF-8, after the OACK.
    test::UdpClient c;
    c.sendTo(port, rrq("start4.elf", {{"blksize", "1468"}}));
    auto oack = c.receive(2s);
    ASSERT_TRUE(oack);
    c.sendTo(oack->second, pt::buildError(std::uint16_t{5}, "\xff\xfe\n\x1b[31m"));
    // 3. An HTTP-boot path with a raw byte in it.
    httplib::Client bootCli("127.0.0.1", httpBoot.port());
    auto res = bootCli.Get("/%ff/boot.img");
    ASSERT_TRUE(res);
    EXPECT_GE(res->status, 400);
    ASSERT_TRUE(tee.waitFor(4));
    monitor.flush();

    // What entered is safe text: no control bytes, and valid UTF-8 (dump() would throw).
    for (const auto& r : tee.records()) {
        EXPECT_TRUE(controlFree(r.requestedPath)) << r.requestedPath;
        EXPECT_TRUE(controlFree(r.detail)) << r.detail;
        EXPECT_NO_THROW((void)json(r.requestedPath).dump());
        EXPECT_NO_THROW((void)json(r.detail).dump());
    }
    const auto recs = tee.records();
    EXPECT_TRUE(std::any_of(recs.begin(), recs.end(), [](const core::TransferRecord& r) {
        return r.requestedPath == "\\xff\\xfe.txt";
    }));
    EXPECT_TRUE(std::any_of(recs.begin(), recs.end(), [](const core::TransferRecord& r) {
        return r.requestedPath == "d9780558/a\\x0aINFO forged line";
    }));

    // Every page and API answers, with valid JSON.
    httplib::Client cli("127.0.0.1", web.port());
    for (const char* path : {"/api/v1/boots", "/api/v1/clients", "/api/v1/clients/aaaa0001"}) {
        auto r = cli.Get(path);
        ASSERT_TRUE(r) << path;
        EXPECT_EQ(r->status, 200) << path;
        EXPECT_TRUE(json::accept(r->body)) << path;
    }
    auto page = cli.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    const auto metrics = cli.Get("/metrics");
    ASSERT_TRUE(metrics);
    // The sanitiser did the work, not the worker's last-resort guard.
    EXPECT_EQ(metrics->body.find("pinetboot_event_errors_total 1"), std::string::npos);

    // And everything still serves: a whole file over TFTP after all of it.
    test::UdpClient d;
    d.sendTo(port, rrq("start4.elf"));
    std::string got;
    for (std::uint16_t block = 1;; ++block) {
        auto dg = d.receive(2s);
        ASSERT_TRUE(dg) << "no DATA " << block;
        auto p = pt::parse(dg->first);
        ASSERT_TRUE(p && std::holds_alternative<pt::Data>(*p));
        const auto& data = std::get<pt::Data>(*p);
        if (data.block + 1 == block) {
            // The server's retransmission of the block before (its adaptive
            // timeout is 50 ms; a loaded machine can be later): re-ACK it as the
            // Pi does, and keep waiting for this block.
            d.sendTo(dg->second, pt::buildAck(data.block));
            --block;
            continue;
        }
        ASSERT_EQ(data.block, block);
        got.append(data.payload.begin(), data.payload.end());
        d.sendTo(dg->second, pt::buildAck(data.block));
        if (data.payload.size() < 512) {
            break;
        }
    }
    EXPECT_EQ(got, std::string(5000, 's'));
    (*tftp)->stop();
    httpBoot.stop();
    web.stop();
    monitor.stop();
}
