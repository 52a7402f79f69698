// The event-driven HTTP boot listener (app/http/http_boot + io/net/http_file_server)
// on real loopback sockets: many clients at once on one loop thread, a client
// that stops reading cut after the no-progress timeout while the others go
// on, HEAD, keep-alive and pipelining, ranges, every refusal's status code,
// the records and counters, the admission hook and the drain on stop.
// Loopback is all of 127/8: clients bind their own source address where the
// per-address cap must see distinct peers.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "app/http/http_boot.h"
#include "io/file.h"

using namespace pinet;
using namespace std::chrono_literals;
using R = core::TransferRecord::Result;

namespace {

/// Every record, for the tests to look at.
class RecordingSink final : public core::BootEventSink {
public:
    void onEvent(const core::BootEvent& e) override {
        if (const auto* r = std::get_if<core::TransferRecord>(&e)) {
            std::lock_guard lock(mu_);
            records_.push_back(*r);
        }
    }
    std::vector<core::TransferRecord> records() const {
        std::lock_guard lock(mu_);
        return records_;
    }
    /// Waits until @p n records are in (they are made on the loop thread).
    bool waitFor(std::size_t n, std::chrono::milliseconds timeout) const {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < end) {
            if (records().size() >= n) {
                return true;
            }
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }

private:
    mutable std::mutex mu_;
    std::vector<core::TransferRecord> records_;
};

std::string randomBytes(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (auto& c : s) {
        c = static_cast<char>(gen());
    }
    return s;
}

struct Root {
    io::TempDir dir{"pnb-httpsrv"};
    std::string root = dir.path().string();
    std::string img;
    std::string sig = "0123abcd\nts: 1\n";
    explicit Root(std::size_t imgSize = 300000) : img(randomBytes(imgSize, 7)) {
        std::filesystem::create_directories(dir.path() / "d9780558");
        std::ofstream(dir.path() / "d9780558" / "boot.img", std::ios::binary) << img;
        std::ofstream(dir.path() / "d9780558" / "boot.sig", std::ios::binary) << sig;
    }
};

/// A blocking TCP connection to 127.0.0.1:@p port from @p source.
int connectFrom(const char* source, std::uint16_t port, int rcvbuf = 0) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (rcvbuf > 0) {
        // Before connect, so the window is small from the start.
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    timeval tv{10, 0};  // no test waits forever on a broken server
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
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
    while (!s.empty()) {
        const auto n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            return;
        }
        s.remove_prefix(static_cast<std::size_t>(n));
    }
}

struct Response {
    int status = 0;
    std::map<std::string, std::string> fields;  // lower-case names
    std::string body;
};

/// Reads one response from @p fd (@p buffered: bytes already read past the last one).
std::optional<Response> readResponse(int fd, std::string& buffered, bool head = false) {
    Response r;
    std::size_t end = std::string::npos;
    char buf[65536];
    while ((end = buffered.find("\r\n\r\n")) == std::string::npos) {
        const auto n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            return std::nullopt;
        }
        buffered.append(buf, static_cast<std::size_t>(n));
    }
    const std::string headText = buffered.substr(0, end + 2);
    buffered.erase(0, end + 4);
    if (headText.rfind("HTTP/1.1 ", 0) != 0) {
        return std::nullopt;
    }
    r.status = std::stoi(headText.substr(9, 3));
    std::size_t pos = headText.find("\r\n") + 2;
    while (pos < headText.size()) {
        const auto eol = headText.find("\r\n", pos);
        const auto line = headText.substr(pos, eol - pos);
        const auto colon = line.find(':');
        std::string name = line.substr(0, colon);
        for (auto& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        r.fields[name] = line.substr(colon + 2);
        pos = eol + 2;
    }
    const std::size_t length =
        head || !r.fields.count("content-length") ? 0 : std::stoul(r.fields["content-length"]);
    while (buffered.size() < length) {
        const auto n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            return std::nullopt;
        }
        buffered.append(buf, static_cast<std::size_t>(n));
    }
    r.body = buffered.substr(0, length);
    buffered.erase(0, length);
    return r;
}

/// One request on a new connection from @p source.
std::optional<Response> fetch(const char* source, std::uint16_t port, const std::string& request,
                              bool head = false) {
    const int fd = connectFrom(source, port);
    if (fd < 0) {
        return std::nullopt;
    }
    sendAll(fd, request);
    std::string rest;
    auto r = readResponse(fd, rest, head);
    ::close(fd);
    return r;
}

/// GETs @p path from @p source with a small receive window and compares the body
/// with @p expected as it arrives (no copy of it kept). True if all of it matched.
bool downloadIntact(const char* source, std::uint16_t port, const std::string& path,
                    const std::string& expected) {
    const int fd = connectFrom(source, port, 65536);
    if (fd < 0) {
        return false;
    }
    sendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string buffered;
    char buf[65536];
    std::size_t end = std::string::npos;
    while ((end = buffered.find("\r\n\r\n")) == std::string::npos) {
        const auto n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            ::close(fd);
            return false;
        }
        buffered.append(buf, static_cast<std::size_t>(n));
    }
    const bool okHead =
        buffered.rfind("HTTP/1.1 200 OK\r\n", 0) == 0 &&
        buffered.find("Content-Length: " + std::to_string(expected.size()) + "\r\n") < end;
    std::size_t got = buffered.size() - end - 4;
    bool same = okHead && expected.compare(0, got, buffered, end + 4, got) == 0;
    while (same && got < expected.size()) {
        const auto n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            break;
        }
        const auto k = static_cast<std::size_t>(n);
        same = got + k <= expected.size() && expected.compare(got, k, buf, k) == 0;
        got += k;
    }
    ::close(fd);
    return same && got == expected.size();
}

std::string get(const std::string& path, const std::string& extra = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

/// Whether the server closed @p fd (EOF or reset) within @p timeout.
bool closedWithin(int fd, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    char buf[65536];
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) {
            const auto n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN)) {
                return true;
            }
        }
    }
    return false;
}

std::size_t threadCount() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
        ++n;
    }
    return n;
}

}  // namespace

// The point of the event-driven server (issue #14): 96 boards downloading a file
// larger than the socket buffers at once, on one thread, every byte intact.
TEST(HttpBootServer, ManyConcurrentDownloadsOnOneThread) {
    Root r(4 << 20);
    RecordingSink sink;
    app::http::HttpBootLimits limits;
    limits.perAddress = 4;
    app::http::HttpBootServer boot([&r] { return r.root; }, &sink, limits);
    const auto before = threadCount();
    boot.start("127.0.0.1", 0);
    EXPECT_EQ(threadCount(), before + 1);  // one loop thread, however many clients
    constexpr int kClients = 96;
    std::atomic<int> intact{0};
    std::atomic<std::size_t> peakConnections{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.emplace_back([&, i] {
            // 4 per address (the cap), on 24 addresses.
            const std::string src = "127.0.10." + std::to_string(i / 4 + 1);
            const bool ok = downloadIntact(src.c_str(), boot.port(), "/d9780558/boot.img", r.img);
            peakConnections = std::max<std::size_t>(peakConnections, boot.counters().connections);
            if (ok) {
                ++intact;
            }
        });
    }
    for (auto& t : clients) {
        t.join();
    }
    EXPECT_EQ(intact.load(), kClients);
    EXPECT_GT(peakConnections.load(), 1u);
    ASSERT_TRUE(sink.waitFor(kClients, 5s));
    for (const auto& rec : sink.records()) {
        EXPECT_EQ(rec.result, R::Ok) << rec.detail;
        EXPECT_EQ(rec.bytes, r.img.size());
        EXPECT_EQ(rec.fileSize, r.img.size());
        EXPECT_EQ(rec.serial, "d9780558");
    }
    EXPECT_EQ(boot.counters().refusedOverCap, 0u);
    EXPECT_EQ(boot.inFlight(), 0u);
    boot.stop();
}

// A board that stops reading mid-body holds nothing past the no-progress
// timeout, and another board's download is not slowed by it.
TEST(HttpBootServer, StalledClientIsCutWhileOthersContinue) {
    Root r(24 << 20);  // more than the stalled client's window and our send buffer
    RecordingSink sink;
    app::http::HttpBootLimits limits;
    limits.ioTimeout = 1s;
    app::http::HttpBootServer boot([&r] { return r.root; }, &sink, limits);
    boot.start("127.0.0.1", 0);
    const int stalled = connectFrom("127.0.11.1", boot.port(), 4096);
    ASSERT_GE(stalled, 0);
    sendAll(stalled, get("/d9780558/boot.img"));
    char some[1000];
    ASSERT_GT(::recv(stalled, some, sizeof(some), 0), 0);  // started, then never read again
    const auto t0 = std::chrono::steady_clock::now();
    auto other = fetch("127.0.11.2", boot.port(), get("/d9780558/boot.img"));
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, 200);
    EXPECT_TRUE(other->body == r.img);
    ASSERT_TRUE(sink.waitFor(2, 5s));
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, 5s);
    EXPECT_EQ(boot.counters().stalled, 1u);
    const auto recs = sink.records();
    const auto& cut = recs[0].clientAddr.rfind("127.0.11.1:", 0) == 0 ? recs[0] : recs[1];
    EXPECT_EQ(cut.result, R::Timeout);
    EXPECT_GT(cut.bytes, 0u);
    EXPECT_LT(cut.bytes, r.img.size());
    EXPECT_NE(cut.detail.find("no progress for 1000 ms"), std::string::npos) << cut.detail;
    EXPECT_TRUE(closedWithin(stalled, 3s));  // the server's side is gone
    ::close(stalled);
    for (int i = 0; i < 100 && boot.counters().connections != 0; ++i) {
        std::this_thread::sleep_for(10ms);  // the other client's close, seen by the loop
    }
    EXPECT_EQ(boot.counters().connections, 0u);
    boot.stop();
}

TEST(HttpBootServer, HeadKeepAliveAndPipelining) {
    Root r;
    RecordingSink sink;
    app::http::HttpBootServer boot([&r] { return r.root; }, &sink);
    boot.start("127.0.0.1", 0);
    const int fd = connectFrom("127.0.12.1", boot.port());
    ASSERT_GE(fd, 0);
    std::string rest;
    sendAll(fd, "HEAD /d9780558/boot.img HTTP/1.1\r\nHost: x\r\n\r\n");
    auto head = readResponse(fd, rest, true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->fields["content-length"], std::to_string(r.img.size()));
    EXPECT_EQ(head->fields["keep-alive"], "timeout=5, max=4");
    // The same connection: two requests in one write, two answers in order.
    sendAll(fd, get("/d9780558/boot.sig") + get("/d9780558/boot.img", "Connection: close\r\n"));
    auto sig = readResponse(fd, rest);
    ASSERT_TRUE(sig);
    EXPECT_EQ(sig->status, 200);
    EXPECT_EQ(sig->body, r.sig);
    EXPECT_EQ(sig->fields["cache-control"], "no-store");
    EXPECT_EQ(sig->fields["content-type"], "application/octet-stream");
    EXPECT_FALSE(sig->fields.count("transfer-encoding"));
    auto img = readResponse(fd, rest);
    ASSERT_TRUE(img);
    EXPECT_EQ(img->status, 200);
    EXPECT_TRUE(img->body == r.img);
    EXPECT_EQ(img->fields["connection"], "close");
    EXPECT_TRUE(rest.empty());
    EXPECT_TRUE(closedWithin(fd, 2s));  // after "Connection: close"
    ::close(fd);
    ASSERT_TRUE(sink.waitFor(3, 2s));
    const auto recs = sink.records();
    EXPECT_EQ(recs[0].result, R::SizeQuery);
    EXPECT_EQ(recs[0].detail, "HEAD");
    EXPECT_EQ(recs[1].result, R::Ok);
    EXPECT_EQ(recs[1].requestedPath, "d9780558/boot.sig");
    EXPECT_EQ(recs[2].result, R::Ok);
    EXPECT_EQ(recs[2].bytes, r.img.size());
    boot.stop();
}

TEST(HttpBootServer, KeepAliveEndsAfterMaxRequests) {
    Root r;
    app::http::HttpBootServer boot([&r] { return r.root; }, nullptr);
    boot.start("127.0.0.1", 0);
    const int fd = connectFrom("127.0.12.2", boot.port());
    ASSERT_GE(fd, 0);
    std::string rest;
    for (int i = 1; i <= 5; ++i) {
        sendAll(fd, get("/d9780558/boot.sig"));
        auto res = readResponse(fd, rest);
        ASSERT_TRUE(res) << i;
        EXPECT_EQ(res->body, r.sig);
        if (i < 5) {
            EXPECT_EQ(res->fields["keep-alive"], "timeout=5, max=" + std::to_string(5 - i));
        } else {
            EXPECT_EQ(res->fields["connection"], "close");
        }
    }
    EXPECT_TRUE(closedWithin(fd, 2s));
    ::close(fd);
    boot.stop();
}

TEST(HttpBootServer, RangesAsTheOldServerServedThem) {
    Root r;
    RecordingSink sink;
    app::http::HttpBootServer boot([&r] { return r.root; }, &sink);
    boot.start("127.0.0.1", 0);
    auto res =
        fetch("127.0.13.1", boot.port(), get("/d9780558/boot.img", "Range: bytes=10-19\r\n"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 206);
    EXPECT_EQ(res->fields["content-range"], "bytes 10-19/" + std::to_string(r.img.size()));
    EXPECT_EQ(res->body, r.img.substr(10, 10));
    res = fetch("127.0.13.1", boot.port(), get("/d9780558/boot.img", "Range: bytes=-5\r\n"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, r.img.substr(r.img.size() - 5));
    // Past the end: 416 with the length (the old server sent a bogus 206 here).
    res = fetch("127.0.13.1", boot.port(),
                get("/d9780558/boot.img", "Range: bytes=2000000-3000000\r\n"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 416);
    EXPECT_EQ(res->fields["content-range"], "bytes */" + std::to_string(r.img.size()));
    EXPECT_TRUE(res->body.empty());
    // Several ranges: the whole file (RFC 9110 lets a server ignore Range).
    res = fetch("127.0.13.1", boot.port(), get("/d9780558/boot.img", "Range: bytes=0-1,5-6\r\n"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_TRUE(res->body == r.img);
    ASSERT_TRUE(sink.waitFor(4, 2s));
    const auto recs = sink.records();
    EXPECT_EQ(recs[0].result, R::Ok);
    EXPECT_EQ(recs[0].bytes, 10u);
    EXPECT_EQ(recs[0].detail, "bytes 10-19/" + std::to_string(r.img.size()));
    EXPECT_EQ(recs[2].result, R::ClientError);
    EXPECT_EQ(recs[2].detail, "range not satisfiable");
    boot.stop();
}

TEST(HttpBootServer, RefusalsAndTheirStatusCodes) {
    Root r;
    io::TempDir outside("pnb-httpsrv-out");
    std::ofstream(outside.path() / "boot.img") << "secret";
    std::filesystem::create_directory_symlink(outside.path(), r.dir.path() / "escape");
    RecordingSink sink;
    app::http::HttpBootServer boot([&r] { return r.root; }, &sink);
    boot.start("127.0.0.1", 0);
    const auto port = boot.port();
    auto status = [&](const std::string& request) {
        auto res = fetch("127.0.14.1", port, request);
        return res ? res->status : 0;
    };
    EXPECT_EQ(status(get("/nope/boot.img")), 404);
    EXPECT_EQ(status(get("/d9780558/config.txt")), 403);
    EXPECT_EQ(status(get("/../etc/boot.img")), 403);
    EXPECT_EQ(status(get("/escape/boot.img")), 403);  // symlink out of the root
    EXPECT_EQ(status(get("/d9780558/boot%00.img")), 403);
    ASSERT_TRUE(sink.waitFor(5, 2s));
    const auto recs = sink.records();
    EXPECT_EQ(recs[0].result, R::NotFound);
    EXPECT_EQ(recs[1].result, R::Refused);
    EXPECT_EQ(recs[3].result, R::Refused);
    EXPECT_EQ(recs[3].detail, "escape/boot.img leads outside the boot root");
    // Malformed requests: answered by the parser, no record, counted.
    EXPECT_EQ(status("GARBAGE\r\n\r\n"), 400);
    EXPECT_EQ(status("GET /d9780558/boot.sig HTTP/2.0\r\n\r\n"), 505);
    EXPECT_EQ(status("GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 501);
    EXPECT_EQ(status("GET /x HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n"), 431);
    EXPECT_EQ(status("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n"), 414);
    EXPECT_EQ(status("GET /x HTTP/1.1\r\nContent-Length: 100000\r\n\r\n"), 413);
    EXPECT_EQ(status("POST /d9780558/boot.img HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), 405);
    EXPECT_EQ(boot.counters().badRequests, 6u);
    // A small body on a GET is read past, as before.
    EXPECT_EQ(status("GET /d9780558/boot.sig HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"), 200);
    ASSERT_TRUE(sink.waitFor(6, 2s));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(sink.records().size(), 6u);  // only the GET with a body made one more
    EXPECT_EQ(boot.counters().internalErrors, 0u);
    boot.stop();
}

// The per-address cap answers 503 and the total cap does too; neither touches
// the connections already held, and a slot is given back when its connection ends.
TEST(HttpBootServer, ConnectionCapsAnswer503) {
    Root r;
    app::http::HttpBootLimits limits;
    limits.perAddress = 2;
    limits.maxConnections = 3;
    app::http::HttpBootServer boot([&r] { return r.root; }, nullptr, limits);
    boot.start("127.0.0.1", 0);
    std::vector<int> held;
    for (const char* src : {"127.0.15.1", "127.0.15.1"}) {
        held.push_back(connectFrom(src, boot.port()));
        ASSERT_GE(held.back(), 0);
    }
    std::this_thread::sleep_for(100ms);
    auto res = fetch("127.0.15.1", boot.port(), get("/d9780558/boot.sig"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503);
    EXPECT_EQ(boot.counters().refusedOverCap, 1u);
    held.push_back(connectFrom("127.0.15.2", boot.port()));
    std::this_thread::sleep_for(100ms);
    res = fetch("127.0.15.3", boot.port(), get("/d9780558/boot.sig"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503);
    EXPECT_EQ(boot.counters().refusedTotalCap, 1u);
    EXPECT_EQ(boot.counters().connections, 3u);
    // A held connection still works, and one closed makes room.
    sendAll(held[2], get("/d9780558/boot.sig"));
    std::string rest;
    auto ok = readResponse(held[2], rest);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    ::close(held[0]);
    held.erase(held.begin());
    for (int i = 0; i < 200 && boot.counters().connections > 2; ++i) {
        std::this_thread::sleep_for(10ms);  // the loop sees the close
    }
    res = fetch("127.0.15.3", boot.port(), get("/d9780558/boot.sig"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    for (int fd : held) {
        ::close(fd);
    }
    boot.stop();
}

// The admission hook hears every file byte each client was sent, per IPv4 address.
TEST(HttpBootServer, ProgressHookCountsBytesPerClient) {
    Root r(3 << 20);
    app::http::HttpBootServer boot([&r] { return r.root; }, nullptr);
    std::mutex mu;
    std::map<std::uint32_t, std::uint64_t> bytes;
    std::map<std::uint32_t, int> callsBy;
    std::atomic<int> calls{0};
    boot.setProgressHook([&](std::uint32_t ip, std::uint64_t n) {
        std::lock_guard lock(mu);
        bytes[ip] += n;
        ++callsBy[ip];
        ++calls;
    });
    boot.start("127.0.0.1", 0);
    for (int i = 0; i < 2; ++i) {
        auto res = fetch("127.0.16.1", boot.port(), get("/d9780558/boot.img"));
        ASSERT_TRUE(res);
        EXPECT_EQ(res->body.size(), r.img.size());
    }
    auto sig = fetch("127.0.16.2", boot.port(), get("/d9780558/boot.sig"));
    ASSERT_TRUE(sig);
    // A board reading slowly (64 KiB every 40 ms, a small window) is heard while it
    // reads, about every 100 ms, not only at the end, and not on every write.
    const int slow = connectFrom("127.0.16.3", boot.port(), 32768);
    ASSERT_GE(slow, 0);
    sendAll(slow, get("/d9780558/boot.img", "Connection: close\r\n"));
    const auto t0 = std::chrono::steady_clock::now();
    std::size_t got = 0;
    char buf[65536];
    for (;;) {
        const auto n = ::recv(slow, buf, sizeof(buf), 0);
        if (n <= 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
        std::this_thread::sleep_for(40ms);
    }
    const auto took = std::chrono::steady_clock::now() - t0;
    ::close(slow);
    EXPECT_GT(got, r.img.size());
    std::this_thread::sleep_for(300ms);  // the closes are reported on the loop
    std::lock_guard lock(mu);
    EXPECT_EQ(bytes[0x7f001001u], 2 * r.img.size());
    EXPECT_EQ(bytes[0x7f001002u], r.sig.size());
    EXPECT_EQ(bytes[0x7f001003u], r.img.size());
    const auto ticks = std::chrono::duration_cast<std::chrono::milliseconds>(took).count() / 100;
    EXPECT_GE(callsBy[0x7f001003u], ticks / 2) << "over " << ticks << " ticks";
    EXPECT_LE(callsBy[0x7f001003u], ticks + 2) << "over " << ticks << " ticks";
    EXPECT_GE(calls.load(), 3);
    boot.stop();
}

// Stop closes idle connections at once and gives a running download the drain
// time, then ends it (recorded, not lost).
TEST(HttpBootServer, StopDrainsThenEnds) {
    Root r(24 << 20);
    RecordingSink sink;
    app::http::HttpBootServer boot([&r] { return r.root; }, &sink);
    boot.start("127.0.0.1", 0);
    const int idle = connectFrom("127.0.17.1", boot.port());
    const int slow = connectFrom("127.0.17.2", boot.port(), 4096);
    ASSERT_GE(idle, 0);
    ASSERT_GE(slow, 0);
    sendAll(slow, get("/d9780558/boot.img"));
    char some[1000];
    ASSERT_GT(::recv(slow, some, sizeof(some), 0), 0);
    const auto t0 = std::chrono::steady_clock::now();
    boot.stop(300ms);
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2s);
    EXPECT_TRUE(closedWithin(idle, 1s));
    ASSERT_TRUE(sink.waitFor(1, 1s));
    EXPECT_EQ(sink.records()[0].result, R::ServerError);
    EXPECT_NE(sink.records()[0].detail.find("server stopped"), std::string::npos);
    ::close(idle);
    ::close(slow);
}
