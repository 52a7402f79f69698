#include "io/net/udp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace pinet::io {

namespace {
std::string sysError(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

tl::unexpected<UdpSocket::OpenError> openFailed(UdpSocket::OpenStep step, const std::string& what) {
    const int err = errno;
    return tl::unexpected(
        UdpSocket::OpenError{step, std::strerror(err), what + ": " + std::strerror(err)});
}
}  // namespace

Result<UdpSocket> UdpSocket::open(const std::string& interface, std::uint16_t port,
                                  bool broadcast) {
    auto s = openDetailed(interface, port, broadcast);
    if (!s) {
        return fail(std::move(s.error().message));
    }
    return std::move(*s);
}

tl::expected<UdpSocket, UdpSocket::OpenError> UdpSocket::openDetailed(const std::string& interface,
                                                                      std::uint16_t port,
                                                                      bool broadcast) {
    Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return openFailed(OpenStep::Socket, "socket");
    }
    const int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        return openFailed(OpenStep::Option, "SO_REUSEADDR");
    }
    if (broadcast && ::setsockopt(fd.get(), SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) {
        return openFailed(OpenStep::Option, "SO_BROADCAST");
    }
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0) {
        return openFailed(OpenStep::Option, "IP_PKTINFO");
    }
    if (!interface.empty() && ::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(),
                                           static_cast<socklen_t>(interface.size())) != 0) {
        return openFailed(OpenStep::Device, "SO_BINDTODEVICE " + interface);
    }
    // Room for a burst (a boot storm, a load test) between two turns of the event loop;
    // the kernel caps it at net.core.rmem_max/wmem_max.
    const int bufBytes = 4 << 20;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &bufBytes, sizeof bufBytes);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &bufBytes, sizeof bufBytes);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sin), sizeof sin) != 0) {
        return openFailed(OpenStep::Bind,
                          "bind UDP port " + std::to_string(port) +
                              (interface.empty() ? std::string() : " on " + interface));
    }
    return UdpSocket(std::move(fd));
}

std::optional<Datagram> UdpSocket::receive(std::span<std::uint8_t> buf) {
    sockaddr_in src{};
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))];
    msghdr msg{};
    msg.msg_name = &src;
    msg.msg_namelen = sizeof src;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
    if (n < 0) {
        return std::nullopt;
    }
    Datagram d;
    d.size = static_cast<std::size_t>(n);
    d.srcIp = ntohl(src.sin_addr.s_addr);
    d.srcPort = ntohs(src.sin_port);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo pi{};
            std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
            d.ifindex = pi.ipi_ifindex;
        }
    }
    return d;
}

Result<void> UdpSocket::sendTo(std::span<const std::uint8_t> data, std::uint32_t ip,
                               std::uint16_t port) {
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    dst.sin_addr.s_addr = htonl(ip);
    const ssize_t n = ::sendto(fd_.get(), data.data(), data.size(), 0,
                               reinterpret_cast<const sockaddr*>(&dst), sizeof dst);
    if (n < 0) {
        return fail(sysError("sendto"));
    }
    return {};
}

bool UdpSocket::waitReadable(std::chrono::milliseconds timeout) const {
    pollfd p{fd_.get(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

std::uint16_t UdpSocket::localPort() const {
    sockaddr_in sin{};
    socklen_t len = sizeof sin;
    if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
        return 0;
    }
    return ntohs(sin.sin_port);
}

}  // namespace pinet::io
