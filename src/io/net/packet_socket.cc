#include "io/net/packet_socket.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace pinet::io {

Result<PacketSocket> PacketSocket::open(const std::string& interface) {
    const int ifindex = static_cast<int>(::if_nametoindex(interface.c_str()));
    if (ifindex == 0) {
        return fail("interface " + interface + ": no such interface");
    }
    Fd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IP)));
    if (!fd) {
        return fail(std::string("AF_PACKET socket: ") + std::strerror(errno));
    }
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_IP);
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

std::optional<proto::net::UdpFrame> PacketSocket::receive(std::span<std::uint8_t> buf) {
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
        return std::nullopt;  // our own transmissions
    }
    bool csumNotReady = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
            tpacket_auxdata aux{};
            std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
            csumNotReady = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
        }
    }
    auto f = proto::net::parseUdpFrame(std::span(buf.data(), static_cast<std::size_t>(n)),
                                       !csumNotReady);
    if (!f && proto::net::parseUdpFrame(std::span(buf.data(), static_cast<std::size_t>(n)), false)) {
        ++badChecksums_;
    }
    return f;
}

}  // namespace pinet::io
