#pragma once
// A UDP socket tied to one interface, for DHCP servers and clients that must
// reach hosts with no address yet: SO_BINDTODEVICE keeps traffic on the named
// interface only, SO_BROADCAST allows 255.255.255.255, IP_PKTINFO reports the
// receiving interface of every datagram.

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "io/fd.h"
#include "proto/error.h"

namespace pinet::io {

struct Datagram {
    std::size_t size = 0;
    std::uint32_t srcIp = 0;  ///< host byte order
    std::uint16_t srcPort = 0;
    int ifindex = 0;  ///< from IP_PKTINFO
};

class UdpSocket {
public:
    /// Which step of open() failed, for callers that advise differently on each
    /// (doctor: SO_BINDTODEVICE needs root, a busy port means another client runs).
    enum class OpenStep { Socket, Option, Device, Bind };
    struct OpenError {
        OpenStep step = OpenStep::Socket;
        std::string reason;   ///< the system's words (strerror), without context
        std::string message;  ///< one line with context, as open() reports it
    };

    /// Binds 0.0.0.0:@p port on @p interface (empty = no device binding), non-blocking.
    static Result<UdpSocket> open(const std::string& interface, std::uint16_t port, bool broadcast);
    /// open(), with the failing step kept apart.
    static tl::expected<UdpSocket, OpenError> openDetailed(const std::string& interface,
                                                           std::uint16_t port, bool broadcast);

    /// Receives one datagram into @p buf; nullopt when none is pending (EAGAIN) or on error.
    std::optional<Datagram> receive(std::span<std::uint8_t> buf);
    Result<void> sendTo(std::span<const std::uint8_t> data, std::uint32_t ip, std::uint16_t port);
    /// Waits up to @p timeout for input; false on timeout.
    bool waitReadable(std::chrono::milliseconds timeout) const;

    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] std::uint16_t localPort() const;

private:
    explicit UdpSocket(Fd fd) : fd_(std::move(fd)) {}
    Fd fd_;
};

}  // namespace pinet::io
