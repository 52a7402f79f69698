#include "io/net/filtered_listener.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace pinet::io {

namespace {

struct Net {
    std::uint32_t addr = 0;  ///< host order
    std::uint32_t mask = 0;
};

Result<Net> parseNet(const std::string& s) {
    std::string ip = s;
    int prefix = 32;
    if (auto slash = s.find('/'); slash != std::string::npos) {
        ip = s.substr(0, slash);
        auto digits = std::string_view(s).substr(slash + 1);
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (ec != std::errc() || p != digits.data() + digits.size() || prefix < 0 || prefix > 32) {
            return fail(fmt::format("\"{}\": bad prefix length", s));
        }
    }
    in_addr a{};
    if (::inet_pton(AF_INET, ip.c_str(), &a) != 1) {
        return fail(fmt::format("\"{}\" is not an IPv4 address or subnet", s));
    }
    Net n;
    n.mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    n.addr = ntohl(a.s_addr) & n.mask;
    return n;
}

}  // namespace

Result<Fd> listenTcpOnlyFrom(const std::string& bindIp, std::uint16_t port,
                             const std::string& allowed) {
    auto net = parseNet(allowed);
    if (!net) {
        return tl::unexpected(net.error());
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (::inet_pton(AF_INET, bindIp.c_str(), &sa.sin_addr) != 1) {
        return fail(fmt::format("\"{}\" is not an IPv4 address to listen on", bindIp));
    }
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return fail(fmt::format("socket: {}", std::strerror(errno)));
    }
    // The filter sees the segment with its data at the TCP header; SKF_NET_OFF
    // reaches the IPv4 header, whose source address is at byte 12 (RFC 791).
    // A BPF_ABS word load is in host order, so the constants are too.
    std::array<sock_filter, 5> prog{{
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_NET_OFF) + 12),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, net->mask),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, net->addr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),  // whole segment kept
        BPF_STMT(BPF_RET | BPF_K, 0),            // dropped
    }};
    sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
    // Before bind and listen: no SYN can reach the socket unfiltered.
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) != 0) {
        return fail(fmt::format("SO_ATTACH_FILTER: {}", std::strerror(errno)));
    }
    // Locked: the process we hand the socket to cannot detach or replace it.
    int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)) != 0) {
        return fail(fmt::format("SO_LOCK_FILTER: {}", std::strerror(errno)));
    }
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    // Accepted sockets inherit these. qemu-nbd serves one connection at a time
    // (--shared=1): the connection of a board that crashed must be found dead
    // before the rebooted board reconnects, or its initramfs is refused. Idle
    // 10 s, then 3 probes 5 s apart: gone within ~25 s; unacknowledged data
    // gives up after 30 s (TCP_USER_TIMEOUT, RFC 5482).
    constexpr int kKeepIdle = 10;
    constexpr int kKeepInterval = 5;
    constexpr int kKeepCount = 3;
    constexpr unsigned kUserTimeoutMs = 30000;
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE, &kKeepIdle, sizeof(kKeepIdle));
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPINTVL, &kKeepInterval, sizeof(kKeepInterval));
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPCNT, &kKeepCount, sizeof(kKeepCount));
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_USER_TIMEOUT, &kUserTimeoutMs,
                       sizeof(kUserTimeoutMs));
    // The export's previous qemu-nbd (stopped just before a restart) may not have let
    // go of the port yet: terminateProcess counts a zombie leader as gone while its
    // threads still close their files (seen in a loaded full test run: EADDRINUSE on
    // the second of two restarts). 3 s, in 50 ms steps, covers that; a port another
    // program really holds is still an error after it.
    constexpr int kBindTries = 60;
    constexpr int kBindPauseMs = 50;
    int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
    for (int i = 1; rc != 0 && errno == EADDRINUSE && i < kBindTries; ++i) {
        ::poll(nullptr, 0, kBindPauseMs);
        rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
    }
    if (rc != 0) {
        return fail(fmt::format("bind {}:{}: {}", bindIp, port, std::strerror(errno)));
    }
    // A board opens one connection (nbd-client -persist reconnects one at a time).
    constexpr int kBacklog = 8;
    if (::listen(fd.get(), kBacklog) != 0) {
        return fail(fmt::format("listen {}:{}: {}", bindIp, port, std::strerror(errno)));
    }
    return fd;
}

}  // namespace pinet::io
