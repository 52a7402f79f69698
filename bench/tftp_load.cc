// tftp_load: N concurrent TFTP read transfers from one process, like a rack
// of Pis booting at once (RRQ with tsize 0 and blksize, lockstep ACKs, or
// RFC 7440 windows). Non-blocking sockets, one per transfer (each transfer
// needs its own client TID), one epoll loop, connect()ed after the first
// reply so that each ACK is a cheap send(). Bounded: per-packet timeout with
// a retry limit, and an overall deadline.
//
//   tftp_load --server 127.0.0.1:69 --file big.bin --clients 64 --blksize 1468
//             [--windowsize 16] [--expect-size BYTES] [--verify LOCAL_FILE]
//
// Prints "clients=.. ok=.. failed=.. bytes=.. seconds=.. MBps=.." (MB = 1e6 bytes)
// and one line per failure reason; exit status 0 only if every transfer succeeded.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "proto/tftp/packet.h"

namespace {

namespace pt = pinet::proto::tftp;
using Clock = std::chrono::steady_clock;

struct Options {
    std::string server = "127.0.0.1:69";
    std::string file;
    int clients = 1;
    std::uint32_t blksize = 1468;
    std::uint32_t windowsize = 1;
    int timeoutMs = 1000;
    int retries = 10;
    int deadlineS = 600;
    std::int64_t expectSize = -1;
    std::string verify;
};

struct Transfer {
    int fd = -1;
    bool connected = false;
    bool done = false;
    bool ok = false;
    std::string failure;
    std::uint64_t nextBlock = 1;  ///< 64-bit block index expected next
    std::uint64_t bytes = 0;
    std::int64_t tsize = -1;
    std::uint32_t blksize = 512;
    std::uint32_t window = 1;
    std::uint32_t inWindow = 0;
    int retries = 0;
    Clock::time_point lastRx{};
    std::vector<std::uint8_t> lastSent;
};

bool parseServer(const std::string& s, sockaddr_in& out) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) {
        return false;
    }
    out = sockaddr_in{};
    out.sin_family = AF_INET;
    out.sin_port = htons(static_cast<std::uint16_t>(std::stoi(s.substr(colon + 1))));
    return inet_pton(AF_INET, s.substr(0, colon).c_str(), &out.sin_addr) == 1;
}

void usage() {
    std::fprintf(stderr,
                 "usage: tftp_load --server IP:PORT --file NAME [--clients N] [--blksize B]\n"
                 "       [--windowsize W] [--timeout-ms T] [--retries R] [--deadline-s S]\n"
                 "       [--expect-size BYTES] [--verify LOCAL_FILE]\n");
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--server") {
            o.server = next();
        } else if (a == "--file") {
            o.file = next();
        } else if (a == "--clients") {
            o.clients = std::stoi(next());
        } else if (a == "--blksize") {
            o.blksize = static_cast<std::uint32_t>(std::stoul(next()));
        } else if (a == "--windowsize") {
            o.windowsize = static_cast<std::uint32_t>(std::stoul(next()));
        } else if (a == "--timeout-ms") {
            o.timeoutMs = std::stoi(next());
        } else if (a == "--retries") {
            o.retries = std::stoi(next());
        } else if (a == "--deadline-s") {
            o.deadlineS = std::stoi(next());
        } else if (a == "--expect-size") {
            o.expectSize = std::stoll(next());
        } else if (a == "--verify") {
            o.verify = next();
        } else {
            usage();
            return 2;
        }
    }
    sockaddr_in server{};
    if (o.file.empty() || o.clients < 1 || !parseServer(o.server, server)) {
        usage();
        return 2;
    }
    const std::uint8_t* ref = nullptr;
    std::size_t refSize = 0;
    if (!o.verify.empty()) {
        int vfd = ::open(o.verify.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st {};
        if (vfd < 0 || ::fstat(vfd, &st) != 0) {
            std::fprintf(stderr, "tftp_load: %s: %s\n", o.verify.c_str(), std::strerror(errno));
            return 2;
        }
        refSize = static_cast<std::size_t>(st.st_size);
        if (refSize > 0) {
            ref = static_cast<const std::uint8_t*>(
                ::mmap(nullptr, refSize, PROT_READ, MAP_SHARED, vfd, 0));
        }
        ::close(vfd);
        if (o.expectSize < 0) {
            o.expectSize = static_cast<std::int64_t>(refSize);
        }
    }

    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    std::vector<Transfer> ts(static_cast<std::size_t>(o.clients));
    std::vector<pt::Option> opts{{"tsize", "0"}, {"blksize", std::to_string(o.blksize)}};
    if (o.windowsize > 1) {
        opts.push_back({"windowsize", std::to_string(o.windowsize)});
    }
    auto rrq = pt::buildRequest(pt::Request{pt::Opcode::Rrq, o.file, pt::Mode::Octet, opts});
    auto start = Clock::now();
    int active = 0;
    for (std::size_t i = 0; i < ts.size(); ++i) {
        auto& t = ts[i];
        t.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int buf = 1 << 20;
        ::setsockopt(t.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, t.fd, &ev);
        t.lastSent = rrq;
        t.lastRx = start;
        ::sendto(t.fd, rrq.data(), rrq.size(), 0, reinterpret_cast<sockaddr*>(&server),
                 sizeof(server));
        ++active;
    }
    auto finish = [&](Transfer& t, bool ok, std::string why) {
        if (t.done) {
            return;
        }
        t.done = true;
        t.ok = ok;
        t.failure = std::move(why);
        ::close(t.fd);
        --active;
    };
    auto sendAck = [&](Transfer& t, std::uint16_t block) {
        t.lastSent = pt::buildAck(block);
        ::send(t.fd, t.lastSent.data(), t.lastSent.size(), 0);
    };
    auto deadline = start + std::chrono::seconds(o.deadlineS);
    std::vector<epoll_event> events(256);
    std::vector<std::uint8_t> buf(70000);
    auto lastScan = start;
    while (active > 0) {
        int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
        auto now = Clock::now();
        for (int k = 0; k < n; ++k) {
            auto& t = ts[events[static_cast<std::size_t>(k)].data.u64];
            for (;;) {
                sockaddr_in from{};
                socklen_t flen = sizeof(from);
                ssize_t got = t.connected ? ::recv(t.fd, buf.data(), buf.size(), 0)
                                          : ::recvfrom(t.fd, buf.data(), buf.size(), 0,
                                                       reinterpret_cast<sockaddr*>(&from), &flen);
                if (got < 0 || t.done) {
                    break;
                }
                if (!t.connected) {
                    // Lock onto the server's TID (RFC 1350 section 4).
                    ::connect(t.fd, reinterpret_cast<sockaddr*>(&from), flen);
                    t.connected = true;
                }
                t.lastRx = now;
                t.retries = 0;
                auto p = pt::parse(
                    std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(got)));
                if (!p) {
                    continue;
                }
                if (auto* oack = std::get_if<pt::Oack>(&*p)) {
                    for (auto& opt : oack->options) {
                        if (pt::equalsIgnoreCase(opt.name, "tsize")) {
                            t.tsize = std::stoll(opt.value);
                        } else if (pt::equalsIgnoreCase(opt.name, "blksize")) {
                            t.blksize = static_cast<std::uint32_t>(std::stoul(opt.value));
                        } else if (pt::equalsIgnoreCase(opt.name, "windowsize")) {
                            t.window = static_cast<std::uint32_t>(std::stoul(opt.value));
                        }
                    }
                    if (t.nextBlock == 1) {
                        sendAck(t, 0);
                    }
                } else if (auto* d = std::get_if<pt::Data>(&*p)) {
                    auto expected = static_cast<std::uint16_t>(t.nextBlock & 0xffff);
                    if (d->block != expected) {
                        // Out of order or duplicate: re-ACK the last good block
                        // once per window (RFC 7440 section 4).
                        if (t.window > 1 && t.inWindow != 0) {
                            t.inWindow = 0;
                            sendAck(t, static_cast<std::uint16_t>((t.nextBlock - 1) & 0xffff));
                        }
                        continue;
                    }
                    std::uint64_t off = (t.nextBlock - 1) * t.blksize;
                    if (ref != nullptr &&
                        (off + d->payload.size() > refSize ||
                         std::memcmp(ref + off, d->payload.data(), d->payload.size()) != 0)) {
                        finish(t, false, "content mismatch");
                        break;
                    }
                    t.bytes += d->payload.size();
                    ++t.nextBlock;
                    ++t.inWindow;
                    bool last = d->payload.size() < t.blksize;
                    if (last || t.inWindow >= t.window) {
                        t.inWindow = 0;
                        sendAck(t, d->block);
                    }
                    if (last) {
                        if (o.expectSize >= 0 &&
                            static_cast<std::int64_t>(t.bytes) != o.expectSize) {
                            finish(t, false, "size mismatch");
                        } else {
                            finish(t, true, {});
                        }
                        break;
                    }
                } else if (auto* e = std::get_if<pt::ErrorPacket>(&*p)) {
                    finish(t, false, "server error " + std::to_string(e->code) + ": " + e->message);
                    break;
                }
            }
        }
        if (now - lastScan >= std::chrono::milliseconds(50)) {
            lastScan = now;
            for (auto& t : ts) {
                if (t.done) {
                    continue;
                }
                if (now >= deadline) {
                    finish(t, false, "deadline");
                } else if (now - t.lastRx >= std::chrono::milliseconds(o.timeoutMs)) {
                    if (++t.retries > o.retries) {
                        finish(t, false, "timeout");
                        continue;
                    }
                    t.lastRx = now;
                    if (t.connected) {
                        ::send(t.fd, t.lastSent.data(), t.lastSent.size(), 0);
                    } else {
                        ::sendto(t.fd, t.lastSent.data(), t.lastSent.size(), 0,
                                 reinterpret_cast<sockaddr*>(&server), sizeof(server));
                    }
                }
            }
        }
    }
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::uint64_t bytes = 0;
    int ok = 0;
    std::map<std::string, int> reasons;
    for (auto& t : ts) {
        bytes += t.bytes;
        if (t.ok) {
            ++ok;
        } else {
            ++reasons[t.failure];
        }
    }
    std::printf("clients=%d ok=%d failed=%d bytes=%llu seconds=%.3f MBps=%.1f\n", o.clients, ok,
                o.clients - ok, static_cast<unsigned long long>(bytes), secs,
                static_cast<double>(bytes) / 1e6 / secs);
    for (auto& [why, count] : reasons) {
        std::printf("failure=\"%s\" count=%d\n", why.c_str(), count);
    }
    return ok == o.clients ? 0 : 1;
}
