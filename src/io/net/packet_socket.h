#pragma once
// An AF_PACKET socket on one interface for frames of one EtherType (IPv4/UDP, or
// ARP) with arbitrary source MACs (many virtual clients at once). Receives in promiscuous mode so
// that replies unicast to a virtual client's MAC are seen, and reads
// PACKET_AUXDATA to honour TP_STATUS_CSUMNOTREADY (veth leaves UDP checksums
// to offload, testlab README §1).

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "io/fd.h"
#include "proto/error.h"
#include "proto/net/udp_frame.h"

namespace pinet::io {

class PacketSocket {
public:
    static Result<PacketSocket> open(const std::string& interface,
                                     std::uint16_t etherType = proto::net::kEtherTypeIpv4);

    Result<void> send(std::span<const std::uint8_t> frame);
    /// One frame carrying UDP, parsed; nullopt when nothing is pending or it is not UDP.
    /// The payload views @p buf.
    std::optional<proto::net::UdpFrame> receive(std::span<std::uint8_t> buf);
    /// One received frame as bytes (never our own transmissions); nullopt when none is pending.
    std::optional<std::span<const std::uint8_t>> receiveRaw(std::span<std::uint8_t> buf);

    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] std::uint64_t badChecksums() const { return badChecksums_; }

private:
    PacketSocket(Fd fd, int ifindex) : fd_(std::move(fd)), ifindex_(ifindex) {}
    Fd fd_;
    int ifindex_ = 0;
    std::uint64_t badChecksums_ = 0;
};

}  // namespace pinet::io
