#include "io/net/packet_socket.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace pinet::io {

Result<PacketSocket> PacketSocket::open(const std::string& interface, std::uint16_t etherType) {
    const int ifindex = static_cast<int>(::if_nametoindex(interface.c_str()));
    if (ifindex == 0) {
        return fail("interface " + interface + ": no such interface");
    }
    Fd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(etherType)));
    if (!fd) {
        return fail(std::string("AF_PACKET socket: ") + std::strerror(errno));
    }
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(etherType);
    ll.sll_ifindex = ifindex;
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ll), sizeof ll) != 0) {
        return fail("bind AF_PACKET to " + interface + ": " + std::strerror(errno));
    }
    packet_mreq mr{};
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    if (::setsockopt(fd.get(), SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0) {
        return fail("promiscuous mode on " + interface + ": " + std::strerror(errno));
    }
    const int one = 1;
    // Our own transmitted frames would otherwise be looped back to us (Linux 4.20+;
    // older kernels: receive() skips them by sll_pkttype).
    (void)::setsockopt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    if (::setsockopt(fd.get(), SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) != 0) {
        return fail(std::string("PACKET_AUXDATA: ") + std::strerror(errno));
    }
    // Room for a boot storm's burst of replies.
    const int rcvbuf = 4 << 20;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    return PacketSocket(std::move(fd), ifindex);
}

Result<void> PacketSocket::send(std::span<const std::uint8_t> frame) {
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_ifindex = ifindex_;
    ll.sll_halen = 6;
    std::memcpy(ll.sll_addr, frame.data(), 6);
    if (::sendto(fd_.get(), frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&ll),
                 sizeof ll) < 0) {
        return fail(std::string("send frame: ") + std::strerror(errno));
    }
    return {};
}

std::optional<std::span<const std::uint8_t>> PacketSocket::receiveRaw(std::span<std::uint8_t> buf) {
    for (int skipped = 0; skipped < 256; ++skipped) {  // bounded, as in receive()
        sockaddr_ll from{};
        socklen_t len = sizeof from;
        const ssize_t n = ::recvfrom(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) {
            return std::nullopt;
        }
        if (from.sll_pkttype != PACKET_OUTGOING) {
            return std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n));
        }
    }
    return std::nullopt;
}

std::optional<proto::net::UdpFrame> PacketSocket::receive(std::span<std::uint8_t> buf) {
    // Frames that are not for us (our own, not UDP, bad checksum) are skipped here so
    // that "nullopt" means "nothing pending" to the caller's drain loop; bounded so
    // one call cannot spin on a flood of foreign traffic.
    for (int skipped = 0; skipped < 256; ++skipped) {
        sockaddr_ll from{};
        iovec iov{buf.data(), buf.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
        if (n <= 0) {
            return std::nullopt;
        }
        if (from.sll_pkttype == PACKET_OUTGOING) {
            continue;  // our own transmissions (kernels without PACKET_IGNORE_OUTGOING)
        }
        bool csumNotReady = false;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
                tpacket_auxdata aux{};
                std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
                csumNotReady = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
            }
        }
        const auto bytes = std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n));
        if (auto f = proto::net::parseUdpFrame(bytes, !csumNotReady)) {
            return f;
        }
        if (proto::net::parseUdpFrame(bytes, false)) {
            ++badChecksums_;
        }
    }
    return std::nullopt;
}

}  // namespace pinet::io
