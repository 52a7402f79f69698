// TftpServer in-process on 127.0.0.1 with an ephemeral port, driven by a
// plain UDP socket playing the Pi bootloader's client: probe-and-abort,
// missing files, path escapes, special files, the reflection bound, the
// per-source limits, and the TransferRecord stream.

#include "app/tftp/tftp_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "io/fd.h"
#include "io/file.h"
#include "lib/udp_client.h"
#include "proto/tftp/packet.h"

namespace pinet::app {
namespace {

namespace fs = std::filesystem;
namespace pt = proto::tftp;
using namespace std::chrono_literals;
using Result = core::TransferRecord::Result;

class RecordingSink : public core::BootEventSink {
public:
    void onEvent(const core::BootEvent& e) override {
        std::lock_guard lock(mutex_);
        if (auto* r = std::get_if<core::TransferRecord>(&e)) {
            records_.push_back(*r);
        }
    }
    std::vector<core::TransferRecord> records() {
        std::lock_guard lock(mutex_);
        return records_;
    }
    /// Waits (bounded) until @p n records arrived.
    bool waitFor(std::size_t n, std::chrono::milliseconds limit = 5s) {
        auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            if (records().size() >= n) {
                return true;
            }
            std::this_thread::sleep_for(5ms);
        }
        return false;
    }

private:
    std::mutex mutex_;
    std::vector<core::TransferRecord> records_;
};

using Client = test::UdpClient;

std::vector<std::uint8_t> rrq(const std::string& name, std::vector<pt::Option> opts = {}) {
    return pt::buildRequest(pt::Request{pt::Opcode::Rrq, name, pt::Mode::Octet, std::move(opts)});
}

/// Every test runs on both socket backends and both reply-port designs.
struct Mode {
    io::LoopChoice io;
    core::tftp::ReplyPorts replyPorts;
};

std::string modeName(const ::testing::TestParamInfo<Mode>& info) {
    return std::string(info.param.io == io::LoopChoice::Uring ? "Uring" : "Epoll") +
           (info.param.replyPorts == core::tftp::ReplyPorts::Pool ? "Pool" : "PerTransfer");
}

class TftpServerTest : public ::testing::TestWithParam<Mode> {
protected:
    void SetUp() override {
        if (GetParam().io == io::LoopChoice::Uring) {
            if (auto probe = io::makeUringLoop(); !probe) {
                GTEST_SKIP() << "no io_uring on this kernel: " << probe.error().message;
            }
        }
        root_ = dir_.path() / "root";
        fs::create_directories(root_ / "d9780558");
        fs::create_directories(root_ / "default");
        fs::create_directories(root_ / "subdir");
        write(root_ / "start4.elf", std::string(3000, 's'));
        write(root_ / "d9780558" / "start4.elf", "per-client");
        write(root_ / "default" / "start4.elf", "default-dir");
        write(dir_.path() / "secret.txt", "secret");
        fs::create_symlink(dir_.path() / "secret.txt", root_ / "abs-link");
        fs::create_symlink("../secret.txt", root_ / "rel-link");
        fs::create_symlink("start4.elf", root_ / "inside-link");
        ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0644), 0);
    }
    void TearDown() override {
        if (server_) {
            server_->stop(0ms);
        }
    }
    static void write(const fs::path& p, const std::string& s) {
        std::ofstream(p, std::ios::binary) << s;
    }
    void start(TftpServerConfig cfg = {}) {
        cfg.io = GetParam().io;
        cfg.replyPorts = GetParam().replyPorts;
        cfg.listen = "127.0.0.1:0";
        cfg.root = root_;
        if (cfg.defaultDir.empty()) {
            cfg.defaultDir = "default";
        }
        auto s = TftpServer::create(cfg);
        ASSERT_TRUE(s) << s.error().message;
        server_ = std::move(*s);
        server_->setEventSink(&sink_);
        server_->setResolver(std::make_shared<FolderClientResolver>(root_));
        ASSERT_EQ(server_->ioBackend(), GetParam().io == io::LoopChoice::Uring
                                            ? io::LoopBackend::Uring
                                            : io::LoopBackend::Epoll);
        server_->start();
        port_ = server_->port();
        ASSERT_NE(port_, 0);
    }
    /// Fetches @p name lockstep like the Pi (tsize + blksize); returns the bytes.
    std::optional<std::string> fetch(const std::string& name, std::uint32_t blksize = 1468) {
        Client c;
        c.sendTo(port_, rrq(name, {{"tsize", "0"}, {"blksize", std::to_string(blksize)}}));
        auto oack = c.receive(2s);
        if (!oack) {
            return std::nullopt;
        }
        auto p = pt::parse(oack->first);
        if (!p || !std::holds_alternative<pt::Oack>(*p)) {
            return std::nullopt;
        }
        std::uint16_t tid = oack->second;
        EXPECT_NE(tid, port_);  // RFC 1350: replies come from a new TID
        c.sendTo(tid, pt::buildAck(0));
        std::string out;
        // A lockstep client as the Pi is: the block it waits for is appended and
        // ACKed; a repeat of the block before (the server's retransmission after
        // its 50 ms adaptive timeout, which a loaded machine provokes when our
        // ACK is late) is checked, not appended, and re-ACKed as the Pi does
        // (the server must ignore that ACK: Sorcerer's Apprentice, RFC 1123
        // 4.2.3.1); any other block number is the server's fault.
        std::uint16_t expected = 1;
        std::size_t lastSize = 0;
        for (;;) {
            auto d = c.receive(2s);
            if (!d) {
                return std::nullopt;
            }
            auto dp = pt::parse(d->first);
            if (dp && std::holds_alternative<pt::Oack>(*dp) && expected == 1) {
                continue;  // the OACK again: our ACK 0 was slow; it is on its way
            }
            if (!dp || !std::holds_alternative<pt::Data>(*dp)) {
                return std::nullopt;
            }
            auto data = std::get<pt::Data>(*dp);
            if (data.block == static_cast<std::uint16_t>(expected - 1) && expected != 1) {
                EXPECT_EQ(data.payload.size(), lastSize) << "a retransmission changed size";
                // Byte for byte as unsigned: `out` holds chars, which are signed here, and
                // a plain == would call every byte from 0x80 up different.
                EXPECT_TRUE(std::equal(
                    data.payload.begin(), data.payload.end(),
                    out.end() - static_cast<std::ptrdiff_t>(lastSize),
                    [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }))
                    << "a retransmission of block " << data.block << " carries other bytes";
                c.sendTo(tid, pt::buildAck(data.block));
                continue;
            }
            if (data.block != expected) {
                ADD_FAILURE() << "block " << data.block << " arrived while waiting for "
                              << expected;
                return std::nullopt;
            }
            out.append(data.payload.begin(), data.payload.end());
            lastSize = data.payload.size();
            c.sendTo(tid, pt::buildAck(data.block));
            ++expected;
            if (data.payload.size() < blksize) {
                return out;
            }
        }
    }
    /// Sends an RRQ and returns the ERROR code received (or -1 for DATA/OACK, -2 for nothing).
    int errorFor(const std::vector<std::uint8_t>& request) {
        Client c;
        c.sendTo(port_, request);
        auto r = c.receive(500ms);
        if (!r) {
            return -2;
        }
        auto p = pt::parse(r->first);
        if (p && std::holds_alternative<pt::ErrorPacket>(*p)) {
            return std::get<pt::ErrorPacket>(*p).code;
        }
        return -1;
    }

    io::TempDir dir_{"pnb-tftp-server"};
    fs::path root_;
    RecordingSink sink_;
    std::unique_ptr<TftpServer> server_;
    std::uint16_t port_ = 0;
};

TEST_P(TftpServerTest, ProbeAndAbortThenFullFetch) {
    start();
    Client c;
    c.sendTo(port_, rrq("start4.elf", {{"tsize", "0"}, {"blksize", "1024"}}));
    auto oack = c.receive(2s);
    ASSERT_TRUE(oack);
    auto p = pt::parse(oack->first);
    ASSERT_TRUE(p && std::holds_alternative<pt::Oack>(*p));
    auto opts = std::get<pt::Oack>(*p).options;
    EXPECT_EQ(opts[0], (pt::Option{"tsize", "3000"}));  // the real size, never 0 (spec 4.1)
    c.sendTo(oack->second, pt::buildError(0, "Early terminate"));
    // Nothing more may arrive: no retransmitted OACK, no DATA.
    EXPECT_FALSE(c.receive(1500ms));
    ASSERT_TRUE(sink_.waitFor(1));
    EXPECT_EQ(sink_.records()[0].result, Result::SizeQuery);
    // The same file again right after is served normally.
    auto body = fetch("start4.elf", 1024);
    ASSERT_TRUE(body);
    EXPECT_EQ(*body, std::string(3000, 's'));
    ASSERT_TRUE(sink_.waitFor(2));
    auto rec = sink_.records()[1];
    EXPECT_EQ(rec.result, Result::Ok);
    EXPECT_EQ(rec.bytes, 3000u);
    EXPECT_EQ(rec.blockSize, 1024u);
    EXPECT_EQ(rec.windowSize, 1u);
    EXPECT_EQ(rec.requestedPath, "start4.elf");
    auto c2 = server_->counters();
    EXPECT_EQ(c2.finishedCount(Result::SizeQuery), 1u);
    EXPECT_EQ(c2.finishedCount(Result::Ok), 1u);
    EXPECT_EQ(c2.retransmits, 0u);
}

TEST_P(TftpServerTest, CoalescingPausesStillDeliverEveryByte) {
    // Off by default (it slows lockstep clients); when turned on, the loop sleeps
    // and then drains every socket without epoll. Many transfers at once, each
    // byte compared.
    std::string big;
    for (int i = 0; i < 200000; ++i) {
        big.push_back(static_cast<char>((i * 7919) >> 3));
    }
    write(root_ / "kernel8.img", big);
    ASSERT_EQ(TftpServerConfig{}.coalesce.count(), 0);
    TftpServerConfig cfg;
    cfg.coalesce = 200us;
    cfg.coalesceThreshold = 1;
    cfg.coalesceMinTransfers = 2;
    start(cfg);
    constexpr int kClients = 8;
    std::vector<std::optional<std::string>> got(kClients);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] { got[static_cast<std::size_t>(i)] = fetch("kernel8.img"); });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (int i = 0; i < kClients; ++i) {
        ASSERT_TRUE(got[static_cast<std::size_t>(i)].has_value()) << "client " << i;
        EXPECT_TRUE(*got[static_cast<std::size_t>(i)] == big) << "client " << i;
    }
    // The clients are done at the last DATA; the server counts at the last ACK.
    ASSERT_TRUE(sink_.waitFor(kClients));
    auto c = server_->counters();
    EXPECT_GT(c.coalescePauses, 0u) << "the pause path never ran";
    EXPECT_EQ(c.finishedCount(Result::Ok), static_cast<std::uint64_t>(kClients));
}

TEST_P(TftpServerTest, ARequestRightAfterAnAbortFromTheSamePortIsServed) {
    // A client that keeps its port (the Pi takes a new one per RRQ; others do not):
    // ERROR 0 and the next RRQ can reach the server in one loop turn. The abort
    // must be seen first, or the RRQ would pass for a retransmission and be dropped.
    // With the coalescing pause on, the loop drains every socket without epoll's
    // readiness order, which is where the order of the drain matters.
    TftpServerConfig cfg;
    cfg.coalesce = 200us;
    cfg.coalesceThreshold = 1;
    cfg.coalesceMinTransfers = 1;
    start(cfg);
    Client c;
    for (int i = 0; i < 8; ++i) {
        c.sendTo(port_, rrq("start4.elf", {{"tsize", "0"}}));
        auto oack = c.receive(500ms);  // this test client never retransmits
        ASSERT_TRUE(oack) << "request " << i << " was not answered";
        ASSERT_TRUE(std::holds_alternative<pt::Oack>(*pt::parse(oack->first)));
        EXPECT_NE(oack->second, port_);
        c.sendTo(oack->second, pt::buildError(0, "Early terminate"));
    }
    ASSERT_TRUE(sink_.waitFor(8));
    EXPECT_EQ(server_->counters().refusedCount(TftpRefusal::DuplicateRequest), 0u);
}

TEST_P(TftpServerTest, MissingFileGetsError1AtOnce) {
    start();
    Client c;
    auto t0 = std::chrono::steady_clock::now();
    c.sendTo(port_, rrq("d9780558/start.elf", {{"tsize", "0"}, {"blksize", "1024"}}));
    auto r = c.receive(1s);
    ASSERT_TRUE(r);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
    auto p = pt::parse(r->first);
    ASSERT_TRUE(p && std::holds_alternative<pt::ErrorPacket>(*p));
    EXPECT_EQ(std::get<pt::ErrorPacket>(*p).code, 1);
    EXPECT_FALSE(c.receive(1200ms));  // an ERROR is never retransmitted
    EXPECT_EQ(server_->counters().refusedCount(TftpRefusal::NotFound), 1u);
    ASSERT_TRUE(sink_.waitFor(1));
    EXPECT_EQ(sink_.records()[0].result, Result::NotFound);
    EXPECT_EQ(sink_.records()[0].serial, "d9780558");
}

TEST_P(TftpServerTest, PerClientTreesAndUnknownClients) {
    start();
    EXPECT_EQ(fetch("d9780558/start4.elf"), "per-client");
    EXPECT_EQ(fetch("aabbccdd/start4.elf"), "default-dir");
    EXPECT_EQ(fetch("dc-a6-32-01-36-c2/start4.elf"), "default-dir");
    auto unknown = server_->unknownClients();
    ASSERT_EQ(unknown.size(), 2u);
    EXPECT_EQ(unknown[0].id, "aabbccdd");
    EXPECT_FALSE(unknown[0].isMac);
    EXPECT_EQ(unknown[0].sourceAddr.rfind("127.0.0.1:", 0), 0u);
    EXPECT_EQ(unknown[1].id, "dc-a6-32-01-36-c2");
    EXPECT_TRUE(unknown[1].isMac);
}

TEST_P(TftpServerTest, PathEscapesAndSpecialFilesAreRefused) {
    start();
    const int access = static_cast<int>(pt::ErrorCode::AccessViolation);
    EXPECT_EQ(errorFor(rrq("../secret.txt")), access);
    EXPECT_EQ(errorFor(rrq("subdir/../../secret.txt")), access);
    EXPECT_EQ(errorFor(rrq("/etc/passwd")), access);
    EXPECT_EQ(errorFor(rrq("..\\secret.txt")), access);
    EXPECT_EQ(errorFor(rrq("abs-link")), access);  // symlink to outside the root
    EXPECT_EQ(errorFor(rrq("rel-link")), access);  // relative symlink climbing out
    EXPECT_EQ(errorFor(rrq("fifo")), access);      // special file
    EXPECT_EQ(errorFor(rrq("subdir")), access);    // directory
    EXPECT_EQ(errorFor(rrq("d9780558/../../secret.txt")), access);
    // Over-long names never parse; NUL splits the name so the "mode" is bogus:
    // both are dropped without any reply.
    EXPECT_EQ(errorFor(rrq(std::string(300, 'a'))), -2);
    std::vector<std::uint8_t> nul = {0,   1, 's', 't', 0,   '.', '.', '/',
                                     'x', 0, 'o', 'c', 't', 'e', 't', 0};
    EXPECT_EQ(errorFor(nul), -2);
    // A symlink that stays inside the root is fine.
    EXPECT_EQ(fetch("inside-link"), std::string(3000, 's'));
    auto c = server_->counters();
    EXPECT_EQ(c.refusedCount(TftpRefusal::PathEscape), 7u);
    EXPECT_EQ(c.refusedCount(TftpRefusal::SpecialFile), 2u);
    EXPECT_EQ(c.refusedCount(TftpRefusal::Malformed), 2u);
    for (const auto& r : sink_.records()) {
        if (r.requestedPath != "inside-link") {
            EXPECT_EQ(r.result, Result::Refused) << r.requestedPath;
            EXPECT_EQ(r.bytes, 0u);
        }
    }
}

TEST_P(TftpServerTest, WriteRequestRefused) {
    start();
    auto wrq = pt::buildRequest(pt::Request{pt::Opcode::Wrq, "new.txt", pt::Mode::Octet, {}});
    EXPECT_EQ(errorFor(wrq), static_cast<int>(pt::ErrorCode::AccessViolation));
    EXPECT_FALSE(fs::exists(root_ / "new.txt"));
    EXPECT_EQ(server_->counters().refusedCount(TftpRefusal::WriteRequest), 1u);
}

TEST_P(TftpServerTest, ReflectionIsBounded) {
    TftpServerConfig cfg;
    cfg.transfer.defaultTimeout = 100ms;
    cfg.transfer.maxFirstReplyRetries = 3;
    start(cfg);
    // A "victim" that never answers: it must get the first reply 1 + 3 times, then nothing.
    Client victim;
    victim.sendTo(port_, rrq("start4.elf", {{"tsize", "0"}}));
    int oacks = 0;
    int other = 0;
    while (auto r = victim.receive(800ms)) {
        auto p = pt::parse(r->first);
        if (p && std::holds_alternative<pt::Oack>(*p)) {
            ++oacks;
        } else {
            ++other;
        }
    }
    EXPECT_EQ(oacks, 4);
    EXPECT_EQ(other, 0);
    ASSERT_TRUE(sink_.waitFor(1));
    EXPECT_EQ(sink_.records()[0].result, Result::Timeout);
    // Without options the first reply is DATA 1, bounded the same way.
    Client victim2;
    victim2.sendTo(port_, rrq("start4.elf"));
    int datas = 0;
    while (auto r = victim2.receive(800ms)) {
        auto p = pt::parse(r->first);
        ASSERT_TRUE(p && std::holds_alternative<pt::Data>(*p));
        EXPECT_EQ(std::get<pt::Data>(*p).block, 1);
        ++datas;
    }
    EXPECT_EQ(datas, 4);
}

TEST_P(TftpServerTest, PerSourceConcurrencyLimit) {
    TftpServerConfig cfg;
    cfg.source.maxConcurrent = 2;
    start(cfg);
    // Two transfers held open (OACK never acknowledged); a third is dropped silently.
    Client a;
    Client b;
    Client c;
    a.sendTo(port_, rrq("start4.elf", {{"tsize", "0"}}));
    b.sendTo(port_, rrq("start4.elf", {{"tsize", "0"}}));
    auto ra = a.receive(1s);
    ASSERT_TRUE(ra);
    ASSERT_TRUE(b.receive(1s));
    c.sendTo(port_, rrq("start4.elf", {{"tsize", "0"}}));
    EXPECT_FALSE(c.receive(300ms));
    EXPECT_EQ(server_->counters().refusedCount(TftpRefusal::TooManyConcurrent), 1u);
    // Once one of them ends (probe abort), a new request is admitted.
    a.sendTo(ra->second, pt::buildError(0, "Early terminate"));
    ASSERT_TRUE(sink_.waitFor(1));
    Client d;
    d.sendTo(port_, rrq("start4.elf", {{"tsize", "0"}}));
    EXPECT_TRUE(d.receive(1s));
}

TEST_P(TftpServerTest, PerSourceRateLimit) {
    TftpServerConfig cfg;
    cfg.source.requestsPerSecond = 1;
    cfg.source.burst = 4;
    start(cfg);
    // The burst of 4 is used by four requests; the fifth is dropped silently.
    for (int i = 0; i < 4; ++i) {
        Client d;
        d.sendTo(port_, rrq("missing"));
        EXPECT_TRUE(d.receive(1s)) << i;  // ERROR 1
    }
    Client e;
    e.sendTo(port_, rrq("missing"));
    EXPECT_FALSE(e.receive(300ms));
    auto c = server_->counters();
    EXPECT_EQ(c.refusedCount(TftpRefusal::RateLimited), 1u);
    EXPECT_EQ(c.refusedCount(TftpRefusal::NotFound), 4u);
}

TEST_P(TftpServerTest, DuplicateAckNeverDuplicatesData) {
    // Fixed 1 s timer here, so that any DATA within 300 ms could only be a
    // reply to the duplicate ACKs (the adaptive timer would resend at ~50 ms).
    TftpServerConfig cfg;
    cfg.transfer.minAdaptiveTimeout = cfg.transfer.defaultTimeout;
    start(cfg);
    Client c;
    c.sendTo(port_, rrq("start4.elf"));  // no options: DATA 1 (512 bytes) first
    auto d1 = c.receive(1s);
    ASSERT_TRUE(d1);
    std::uint16_t tid = d1->second;
    c.sendTo(tid, pt::buildAck(1));
    auto d2 = c.receive(1s);
    ASSERT_TRUE(d2);
    EXPECT_EQ(std::get<pt::Data>(*pt::parse(d2->first)).block, 2);
    // Duplicate ACK 1 (as a client whose retransmit crossed our DATA 2): nothing.
    c.sendTo(tid, pt::buildAck(1));
    c.sendTo(tid, pt::buildAck(1));
    EXPECT_FALSE(c.receive(300ms));
    // Packets from a wrong port do not reach the transfer: a transfer's own
    // socket is connected to its client, so the kernel drops them; a pool
    // socket hears everyone and the engine drops them (counted).
    Client stranger;
    stranger.sendTo(tid, pt::buildAck(2));
    EXPECT_FALSE(c.receive(200ms));
    EXPECT_FALSE(stranger.receive(50ms));
    if (GetParam().replyPorts == core::tftp::ReplyPorts::Pool) {
        EXPECT_GE(server_->counters().refusedCount(TftpRefusal::UnknownTid), 1u);
    } else {
        EXPECT_EQ(server_->counters().refusedCount(TftpRefusal::UnknownTid), 0u);
    }
    // The transfer goes on: the client's ACK 2 is answered with DATA 3.
    c.sendTo(tid, pt::buildAck(2));
    auto d3 = c.receive(1s);
    ASSERT_TRUE(d3);
    EXPECT_EQ(std::get<pt::Data>(*pt::parse(d3->first)).block, 3);
}

TEST_P(TftpServerTest, ALostBlockIsResentAfterTheAdaptiveTimeoutNotASecond) {
    // A client on a LAN answers at once; when it then loses a block, the server's
    // adaptive timer (RFC 1123 4.2.3.2) resends it long before the 1 s default.
    start();
    Client c;
    c.sendTo(port_, rrq("start4.elf"));  // no options: 512-byte blocks, fixed first reply
    auto d1 = c.receive(1s);
    ASSERT_TRUE(d1);
    const std::uint16_t tid = d1->second;
    c.sendTo(tid, pt::buildAck(1));
    auto d2 = c.receive(1s);
    ASSERT_TRUE(d2);
    ASSERT_EQ(std::get<pt::Data>(*pt::parse(d2->first)).block, 2);
    const auto lostAt = std::chrono::steady_clock::now();  // "lose" DATA 2: no ACK
    auto again = c.receive(2s);
    const auto waited = std::chrono::steady_clock::now() - lostAt;
    ASSERT_TRUE(again);
    EXPECT_EQ(std::get<pt::Data>(*pt::parse(again->first)).block, 2);
    EXPECT_GE(waited, 40ms);
    EXPECT_LT(waited, 500ms) << "resent after the fixed 1 s, not the adaptive timeout";
    // The transfer goes on and completes.
    c.sendTo(tid, pt::buildAck(2));
    for (std::uint16_t b = 3;; ++b) {
        auto d = c.receive(1s);
        ASSERT_TRUE(d);
        auto data = std::get<pt::Data>(*pt::parse(d->first));
        if (data.block != b) {
            continue;  // a late duplicate
        }
        c.sendTo(tid, pt::buildAck(b));
        if (data.payload.size() < 512) {
            break;
        }
    }
    ASSERT_TRUE(sink_.waitFor(1));
    EXPECT_EQ(sink_.records().back().result, Result::Ok);
}

TEST_P(TftpServerTest, GracefulStopDrainsRunningTransfers) {
    start();
    Client c;
    c.sendTo(port_, rrq("start4.elf", {{"tsize", "0"}}));
    ASSERT_TRUE(c.receive(1s));
    // The client never answers: stop() waits for the drain limit, then aborts it.
    auto t0 = std::chrono::steady_clock::now();
    server_->stop(300ms);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    ASSERT_TRUE(sink_.waitFor(1));
    EXPECT_EQ(sink_.records()[0].result, Result::ServerError);
    server_.reset();
}

TEST_P(TftpServerTest, FileTruncatedInPlaceEndsTheTransferWithAnError) {
    // 200 blocks of 1468 bytes, then the file is cut to 10 KiB in place (not a rename)
    // while it is being served: the server must not crash (the mapping is only read by
    // the kernel), must tell the client, and must keep serving everything else.
    write(root_ / "kernel8.img", std::string(200 * 1468, 'k'));
    start();
    Client c;
    c.sendTo(port_, rrq("kernel8.img", {{"blksize", "1468"}}));
    auto oack = c.receive(2s);
    ASSERT_TRUE(oack);
    const std::uint16_t tid = oack->second;
    c.sendTo(tid, pt::buildAck(0));
    std::uint16_t block = 0;
    for (; block < 5; ++block) {
        auto d = c.receive(2s);
        ASSERT_TRUE(d);
        auto dp = pt::parse(d->first);
        ASSERT_TRUE(dp && std::holds_alternative<pt::Data>(*dp));
        c.sendTo(tid, pt::buildAck(std::get<pt::Data>(*dp).block));
        if (block == 2) {
            fs::resize_file(root_ / "kernel8.img", 10240);  // blocks 7.. now lie past EOF
        }
    }
    std::optional<pt::ErrorPacket> error;
    for (int i = 0; i < 10 && !error; ++i) {
        auto d = c.receive(2s);
        ASSERT_TRUE(d) << "no ERROR after the truncation";
        auto dp = pt::parse(d->first);
        ASSERT_TRUE(dp);
        if (auto* e = std::get_if<pt::ErrorPacket>(&*dp)) {
            error = *e;
        } else if (auto* data = std::get_if<pt::Data>(&*dp)) {
            c.sendTo(tid, pt::buildAck(data->block));  // blocks still inside the file
        }
    }
    ASSERT_TRUE(error);
    EXPECT_EQ(error->message, "File changed while being read");
    ASSERT_TRUE(sink_.waitFor(1));
    EXPECT_EQ(sink_.records()[0].result, Result::ServerError);
    EXPECT_NE(sink_.records()[0].detail.find("truncated in place"), std::string::npos)
        << sink_.records()[0].detail;
    EXPECT_EQ(server_->counters().refusedCount(TftpRefusal::IoError), 1u);
    // The server is alive and serves other files.
    EXPECT_EQ(fetch("start4.elf"), std::string(3000, 's'));
}

}  // namespace
}  // namespace pinet::app

namespace pinet::app {
namespace {

// Regression (issue #13 item 10): netascii conversion read the file through its
// mapping, so a file cut in place while being converted killed the server with
// SIGBUS. Now it is read with pread: a short read, no signal.
TEST_P(TftpServerTest, NetasciiOfAFileCutWhileBeingConvertedDoesNotKillTheServer) {
    constexpr std::size_t kSize = 8u << 20;  // 2048 pages to convert, under the 16 MiB limit
    const auto path = root_ / "config.txt";
    write(path, std::string(kSize, 'a'));
    write(root_ / "cmdline.txt", "console=serial0\nroot=/dev/nfs\n");
    start();
    const io::Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fd);
    std::atomic<bool> stop{false};
    // Cut the file to nothing and grow it back, as fast as possible: every read of a
    // mapped page has even odds of landing after the cut.
    std::thread cutter([&] {
        while (!stop.load()) {
            (void)::ftruncate(fd.get(), 0);
            (void)::ftruncate(fd.get(), static_cast<off_t>(kSize));
        }
    });
    int answered = 0;
    for (int i = 0; i < 8; ++i) {
        Client c;
        c.sendTo(port_, pt::buildRequest(
                            pt::Request{pt::Opcode::Rrq, "config.txt", pt::Mode::Netascii, {}}));
        if (c.receive(2s)) {
            ++answered;  // DATA, or an ERROR for a file that was empty or too large
        }
        std::this_thread::sleep_for(50ms);  // past the per-source rate limit
    }
    stop = true;
    cutter.join();
    EXPECT_GT(answered, 0);
    // Alive, and netascii still converts: LF becomes CR LF.
    Client c;
    c.sendTo(port_,
             pt::buildRequest(pt::Request{pt::Opcode::Rrq, "cmdline.txt", pt::Mode::Netascii, {}}));
    auto d = c.receive(2s);
    ASSERT_TRUE(d);
    auto dp = pt::parse(d->first);
    ASSERT_TRUE(dp && std::holds_alternative<pt::Data>(*dp));
    const auto& payload = std::get<pt::Data>(*dp).payload;
    EXPECT_EQ(std::string(payload.begin(), payload.end()), "console=serial0\r\nroot=/dev/nfs\r\n");
}

INSTANTIATE_TEST_SUITE_P(
    Io, TftpServerTest,
    ::testing::Values(Mode{io::LoopChoice::Epoll, core::tftp::ReplyPorts::PerTransfer},
                      Mode{io::LoopChoice::Uring, core::tftp::ReplyPorts::PerTransfer},
                      Mode{io::LoopChoice::Epoll, core::tftp::ReplyPorts::Pool},
                      Mode{io::LoopChoice::Uring, core::tftp::ReplyPorts::Pool}),
    modeName);

}  // namespace
}  // namespace pinet::app
