// http_load: N concurrent HTTP/1.1 GETs of one file from one process, like a
// room of Pi 5s fetching boot.img over HTTP boot at once (spec 5). Every client
// connects at the same moment from its own source address (127.1.x.y: the
// server's per-address cap sees distinct boards), sends one GET with
// "Connection: close", checks the status line and Content-Length, and counts
// the body. Non-blocking sockets in one epoll loop; the body is discarded in
// the kernel (recv MSG_TRUNC, no copy), unless --verify compares it byte for
// byte with a local file, so the client leaves the CPU to the server. Bounded
// by an overall deadline.
//
//   http_load --port 8080 --path /d9780558/boot.img --clients 128 --expect-size BYTES
//             [--host 127.0.0.1] [--verify LOCAL_FILE] [--deadline-s 300] [--rcvbuf BYTES]
//
// --rcvbuf (default 262144; 0 = the kernel's autotuning) fixes each client's
// receive buffer, as a board's TCP window is: on loopback an autotuned window
// grows to tcp_rmem's 32 MiB, and 512 of them push the whole machine into TCP
// memory pressure (tcp_mem), which then measures the kernel, not the server.
//
// Prints "clients=.. ok=.. failed=.. bytes=.. seconds=.. MBps=.. p50_s=.. max_s=.."
// (MB = 1e6 bytes) and one line per failure reason; exit status 0 only if every
// transfer succeeded.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string host = "127.0.0.1";
    int port = 80;
    std::string path = "/boot.img";
    int clients = 1;
    int deadlineS = 300;
    std::int64_t expectSize = -1;
    std::string verify;
    int rcvbuf = 262144;
};

struct Client {
    int fd = -1;
    bool sent = false;
    bool headDone = false;
    bool done = false;
    bool ok = false;
    std::string failure;
    std::string head;
    std::int64_t length = -1;
    std::uint64_t body = 0;
    Clock::time_point end{};
};

bool parseArgs(int argc, char** argv, Options& o) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const std::string v = argv[i + 1];
        if (k == "--host") {
            o.host = v;
        } else if (k == "--port") {
            o.port = std::stoi(v);
        } else if (k == "--path") {
            o.path = v;
        } else if (k == "--clients") {
            o.clients = std::stoi(v);
        } else if (k == "--deadline-s") {
            o.deadlineS = std::stoi(v);
        } else if (k == "--expect-size") {
            o.expectSize = std::stoll(v);
        } else if (k == "--verify") {
            o.verify = v;
        } else if (k == "--rcvbuf") {
            o.rcvbuf = std::stoi(v);
        } else {
            std::fprintf(stderr, "http_load: unknown option %s\n", k.c_str());
            return false;
        }
    }
    return o.clients > 0 && o.clients <= 60000;
}

void finish(Client& c, bool ok, std::string why = "") {
    c.done = true;
    c.ok = ok;
    c.failure = std::move(why);
    c.end = Clock::now();
    if (c.fd >= 0) {
        ::close(c.fd);
        c.fd = -1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parseArgs(argc, argv, o)) {
        std::fprintf(stderr,
                     "usage: http_load --port P --path /x --clients N [--expect-size B] "
                     "[--host IP] [--verify FILE] [--deadline-s S]\n");
        return 2;
    }
    const std::uint8_t* expected = nullptr;
    std::size_t expectedSize = 0;
    if (!o.verify.empty()) {
        const int vf = ::open(o.verify.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st {};
        if (vf < 0 || ::fstat(vf, &st) != 0) {
            std::perror(o.verify.c_str());
            return 2;
        }
        expectedSize = static_cast<std::size_t>(st.st_size);
        void* m = ::mmap(nullptr, expectedSize, PROT_READ, MAP_PRIVATE, vf, 0);
        if (m == MAP_FAILED) {
            std::perror("mmap");
            return 2;
        }
        expected = static_cast<const std::uint8_t*>(m);
        o.expectSize = static_cast<std::int64_t>(expectedSize);
    }
    const std::string request =
        "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + "\r\nConnection: close\r\n\r\n";
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    std::vector<Client> clients(static_cast<std::size_t>(o.clients));
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<std::uint16_t>(o.port));
    ::inet_pton(AF_INET, o.host.c_str(), &dst.sin_addr);
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < clients.size(); ++i) {
        auto& c = clients[i];
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        // 127.1.<i / 250>.<i % 250 + 1>: one board, one address.
        src.sin_addr.s_addr =
            htonl((127u << 24) | (1u << 16) | (static_cast<std::uint32_t>(i / 250) << 8) |
                  static_cast<std::uint32_t>(i % 250 + 1));
        if (c.fd >= 0 && o.rcvbuf > 0) {
            // Before connect: the window scale is fixed in the SYN.
            ::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &o.rcvbuf, sizeof(o.rcvbuf));
        }
        if (c.fd < 0 || ::bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
            finish(c, false, std::string("socket/bind: ") + std::strerror(errno));
            continue;
        }
        if (::connect(c.fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 0 &&
            errno != EINPROGRESS) {
            finish(c, false, std::string("connect: ") + std::strerror(errno));
            continue;
        }
        epoll_event ev{};
        ev.events = EPOLLOUT | EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    }
    const auto deadline = t0 + std::chrono::seconds(o.deadlineS);
    std::size_t open = 0;
    for (const auto& c : clients) {
        open += c.done ? 0 : 1;
    }
    std::vector<char> buf(1 << 16);
    std::vector<epoll_event> events(256);
    while (open > 0 && Clock::now() < deadline) {
        const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
        for (int k = 0; k < n; ++k) {
            auto& c = clients[events[static_cast<std::size_t>(k)].data.u64];
            if (c.done) {
                continue;
            }
            if (!c.sent) {
                int err = 0;
                socklen_t len = sizeof(err);
                ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0) {
                    finish(c, false, std::string("connect: ") + std::strerror(err));
                    --open;
                    continue;
                }
                if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                    static_cast<ssize_t>(request.size())) {
                    finish(c, false, "send");
                    --open;
                    continue;
                }
                c.sent = true;
                epoll_event ev{};
                ev.events = EPOLLIN;
                ev.data.u64 = events[static_cast<std::size_t>(k)].data.u64;
                ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
                continue;
            }
            for (;;) {
                // Body bytes are dropped in the kernel (MSG_TRUNC) unless verified.
                const bool drop = c.headDone && expected == nullptr;
                const auto got = ::recv(c.fd, buf.data(), buf.size(), drop ? MSG_TRUNC : 0);
                if (got < 0) {
                    if (errno != EAGAIN && errno != EWOULDBLOCK) {
                        finish(c, false, std::string("recv: ") + std::strerror(errno));
                        --open;
                    }
                    break;
                }
                if (got == 0) {
                    const bool whole = c.headDone && c.length >= 0 &&
                                       c.body == static_cast<std::uint64_t>(c.length);
                    finish(c, whole, whole ? "" : "closed early");
                    --open;
                    break;
                }
                std::size_t off = 0;
                const auto k2 = static_cast<std::size_t>(got);
                if (!c.headDone) {
                    c.head.append(buf.data(), k2);
                    const auto e = c.head.find("\r\n\r\n");
                    if (e == std::string::npos) {
                        if (c.head.size() > 16384) {
                            finish(c, false, "head too long");
                            --open;
                            break;
                        }
                        continue;
                    }
                    c.headDone = true;
                    if (c.head.rfind("HTTP/1.1 200 ", 0) != 0) {
                        finish(c, false, "status " + c.head.substr(9, 3));
                        --open;
                        break;
                    }
                    const auto cl = c.head.find("Content-Length: ");
                    c.length = cl == std::string::npos || cl > e
                                   ? -1
                                   : std::stoll(c.head.substr(cl + 16, 20));
                    if (c.length < 0 || (o.expectSize >= 0 && c.length != o.expectSize)) {
                        finish(c, false, "content-length");
                        --open;
                        break;
                    }
                    // What came after the head in this read is body.
                    const auto already = c.head.size() - (e + 4);
                    off = k2 - already;
                }
                const auto bodyBytes = k2 - off;
                if (expected != nullptr &&
                    (c.body + bodyBytes > expectedSize ||
                     std::memcmp(expected + c.body, buf.data() + off, bodyBytes) != 0)) {
                    finish(c, false, "body differs");
                    --open;
                    break;
                }
                c.body += bodyBytes;
                if (c.length >= 0 && c.body >= static_cast<std::uint64_t>(c.length)) {
                    const bool exact = c.body == static_cast<std::uint64_t>(c.length);
                    finish(c, exact, exact ? "" : "body longer than Content-Length");
                    --open;
                    break;
                }
            }
        }
    }
    const auto t1 = Clock::now();
    std::map<std::string, int> failures;
    int ok = 0;
    std::uint64_t bytes = 0;
    std::vector<double> took;
    for (auto& c : clients) {
        if (!c.done) {
            finish(c, false, "deadline");
        }
        bytes += c.body;
        if (c.ok) {
            ++ok;
            took.push_back(std::chrono::duration<double>(c.end - t0).count());
        } else {
            ++failures[c.failure];
        }
    }
    std::sort(took.begin(), took.end());
    const double secs = std::chrono::duration<double>(t1 - t0).count();
    std::printf(
        "clients=%d ok=%d failed=%d bytes=%llu seconds=%.3f MBps=%.1f p50_s=%.3f "
        "max_s=%.3f\n",
        o.clients, ok, o.clients - ok, static_cast<unsigned long long>(bytes), secs,
        static_cast<double>(bytes) / 1e6 / secs, took.empty() ? 0 : took[took.size() / 2],
        took.empty() ? 0 : took.back());
    for (const auto& [why, count] : failures) {
        std::printf("failure=%s count=%d\n", why.c_str(), count);
    }
    return ok == o.clients ? 0 : 1;
}
