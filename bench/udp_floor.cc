// udp_floor: what one lockstep datagram costs the kernel of this machine, with
// no server logic at all. A "responder" process answers every 4-byte datagram
// with one DATA-sized datagram (recvmmsg + sendmmsg over one socket, batched as
// pinetboot's TFTP loop does); a "client" process runs N sockets in one epoll
// loop and answers each DATA with a 4-byte ACK, like N lockstep TFTP clients.
// The responder's CPU time per DATA datagram is the floor that any user-space
// TFTP server on this kernel pays: docs/benchmarks.md compares it with
// pinetboot's and dnsmasq's cost per datagram.
//
//   udp_floor [--clients 64] [--seconds 5] [--payload 1472] [--pause-us 0] [--connected]
//
// --connected: the other design, one server socket per client, connect()ed (the
// route is looked up once), recv + send per datagram instead of the batches.
//
// Loopback only (127.0.0.1, ephemeral ports); bounded by --seconds. Prints one table
// row: sockets, clients, payload, pause, datagrams/s, responder CPU s, µs per datagram.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
    int clients = 64;
    double seconds = 5;
    std::size_t payload = 1472;  ///< 4-byte TFTP header + blksize 1468, as a Pi asks
    long pauseUs = 0;            ///< > 0: sleep this long before each batch (coalescing)
    bool connected = false;      ///< one connected server socket per client
};

constexpr unsigned kBatch = 64;  ///< datagrams per recvmmsg/sendmmsg, as io::RecvBatch

double monotonicSeconds() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

/// utime + stime of @p pid in seconds, from /proc/PID/stat.
double cpuSeconds(pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/stat";
    FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) {
        return 0;
    }
    char buf[1024] = {};
    std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    const char* p = std::strrchr(buf, ')');
    if (p == nullptr) {
        return 0;
    }
    unsigned long utime = 0;
    unsigned long stime = 0;
    if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) !=
        2) {
        return 0;
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

[[noreturn]] void respond(int fd, const Options& o, double until) {
    std::vector<std::uint8_t> data(o.payload, 0x5a);
    std::array<mmsghdr, kBatch> in{};
    std::array<mmsghdr, kBatch> out{};
    std::array<iovec, kBatch> inIov{};
    std::array<iovec, kBatch> outIov{};
    std::array<sockaddr_in, kBatch> from{};
    std::array<std::array<std::uint8_t, 64>, kBatch> ackBuf{};
    int ep = ::epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    while (monotonicSeconds() < until) {
        if (o.pauseUs > 0) {
            timespec ts{0, o.pauseUs * 1000};
            ::nanosleep(&ts, nullptr);
        } else {
            epoll_event got{};
            if (::epoll_wait(ep, &got, 1, 100) <= 0) {
                continue;
            }
        }
        for (unsigned i = 0; i < kBatch; ++i) {
            inIov[i] = iovec{ackBuf[i].data(), ackBuf[i].size()};
            in[i].msg_hdr = msghdr{};
            in[i].msg_hdr.msg_name = &from[i];
            in[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
            in[i].msg_hdr.msg_iov = &inIov[i];
            in[i].msg_hdr.msg_iovlen = 1;
        }
        int n = ::recvmmsg(fd, in.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) {
            continue;
        }
        for (int i = 0; i < n; ++i) {
            outIov[i] = iovec{data.data(), data.size()};
            out[i].msg_hdr = msghdr{};
            out[i].msg_hdr.msg_name = &from[i];
            out[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
            out[i].msg_hdr.msg_iov = &outIov[i];
            out[i].msg_hdr.msg_iovlen = 1;
        }
        ::sendmmsg(fd, out.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    }
    ::_exit(0);
}

/// The --connected responder: one socket per client, recv + send per datagram.
[[noreturn]] void respondConnected(const std::vector<int>& fds, const Options& o, double until) {
    std::vector<std::uint8_t> data(o.payload, 0x5a);
    std::array<std::uint8_t, 64> ackBuf{};
    int ep = ::epoll_create1(0);
    for (std::size_t i = 0; i < fds.size(); ++i) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = static_cast<std::uint32_t>(i);
        ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    std::array<epoll_event, 64> evs{};
    while (monotonicSeconds() < until) {
        int n = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
        for (int i = 0; i < n; ++i) {
            int fd = fds[evs[static_cast<std::size_t>(i)].data.u32];
            while (::recv(fd, ackBuf.data(), ackBuf.size(), MSG_DONTWAIT) > 0) {
                ::send(fd, data.data(), data.size(), MSG_DONTWAIT);
            }
        }
    }
    ::_exit(0);
}

int udpSocket(sockaddr_in& bound) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int buf = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    bound = sockaddr_in{};
    bound.sin_family = AF_INET;
    bound.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(bound);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&bound), sizeof(bound)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
        std::perror("udp_floor: socket");
        std::exit(1);
    }
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (k == "--connected") {
            o.connected = true;
            continue;
        }
        const char* v = i + 1 < argc ? argv[++i] : nullptr;
        if (v != nullptr && k == "--clients") {
            o.clients = std::atoi(v);
        } else if (v != nullptr && k == "--seconds") {
            o.seconds = std::atof(v);
        } else if (v != nullptr && k == "--payload") {
            o.payload = static_cast<std::size_t>(std::atol(v));
        } else if (v != nullptr && k == "--pause-us") {
            o.pauseUs = std::atol(v);
        } else {
            std::fprintf(stderr,
                         "usage: udp_floor [--clients N] [--seconds S] [--payload B] "
                         "[--pause-us U] [--connected]\n");
            return 2;
        }
    }
    // Bounds: a load loop must stop by itself and stay on a few hundred sockets.
    if (o.clients < 1 || o.clients > 1024 || o.seconds <= 0 || o.seconds > 60 || o.payload < 4 ||
        o.payload > 65507 || o.pauseUs < 0 || o.pauseUs > 100000) {
        std::fprintf(stderr,
                     "udp_floor: out of range (clients 1-1024, seconds <= 60, payload "
                     "4-65507, pause-us <= 100000)\n");
        return 2;
    }
    // Sockets first (the responder inherits them), then the responder process.
    sockaddr_in server{};
    int serverFd = udpSocket(server);
    std::vector<int> fds;
    std::vector<int> serverFds;
    for (int i = 0; i < o.clients; ++i) {
        sockaddr_in mine{};
        int fd = udpSocket(mine);
        sockaddr_in peer = server;
        if (o.connected) {
            int sfd = udpSocket(peer);
            ::connect(sfd, reinterpret_cast<sockaddr*>(&mine), sizeof(mine));
            serverFds.push_back(sfd);
        }
        ::connect(fd, reinterpret_cast<sockaddr*>(&peer), sizeof(peer));
        fds.push_back(fd);
    }
    const double start = monotonicSeconds();
    pid_t pid = ::fork();
    if (pid == 0) {
        if (o.connected) {
            respondConnected(serverFds, o, start + o.seconds + 1);
        }
        respond(serverFd, o, start + o.seconds + 1);
    }
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    const std::array<std::uint8_t, 4> ack{0, 4, 0, 0};
    for (int i = 0; i < o.clients; ++i) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = static_cast<std::uint32_t>(i);
        ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[static_cast<std::size_t>(i)], &ev);
        // Each client starts one lockstep exchange.
        ::send(fds[static_cast<std::size_t>(i)], ack.data(), ack.size(), 0);
    }
    // Half a second of warm-up, then count datagrams and the responder's CPU.
    const double warm = start + 0.5;
    double cpu0 = -1;
    long count0 = 0;
    long count = 0;
    std::vector<std::uint8_t> buf(65536);
    std::array<epoll_event, 64> evs{};
    while (monotonicSeconds() < start + o.seconds) {
        int n = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
        for (int i = 0; i < n; ++i) {
            int fd = fds[evs[static_cast<std::size_t>(i)].data.u32];
            if (::recv(fd, buf.data(), buf.size(), 0) > 0) {
                ++count;
                ::send(fd, ack.data(), ack.size(), 0);
            }
        }
        if (cpu0 < 0 && monotonicSeconds() >= warm) {
            cpu0 = cpuSeconds(pid);
            count0 = count;
        }
    }
    const double cpu = cpuSeconds(pid) - cpu0;
    const double elapsed = monotonicSeconds() - warm;
    const long datagrams = count - count0;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::printf("| %s | %d | %zu | %ld | %.0f | %.2f | %.2f |\n",
                o.connected ? "one per client, connected" : "one, batched", o.clients, o.payload,
                o.pauseUs, static_cast<double>(datagrams) / elapsed, cpu,
                datagrams > 0 ? cpu * 1e6 / static_cast<double>(datagrams) : 0.0);
    return datagrams > 0 ? 0 : 1;
}
