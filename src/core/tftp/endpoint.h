#pragma once
// A UDP peer as the TFTP engine sees it: the address in 16 bytes (IPv4 in its
// v4-mapped IPv6 form, RFC 4291 2.5.5.2) and the port. A value type, so the
// engine stays free of sockaddr; io converts at the socket.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace pinet::core::tftp {

struct Endpoint {
    std::array<std::uint8_t, 16> address{};
    std::uint16_t port = 0;

    bool operator==(const Endpoint&) const = default;

    /// ::ffff:a.b.c.d (RFC 4291 2.5.5.2).
    [[nodiscard]] bool isV4() const;
    /// The IPv4 address in host order, for a v4 peer.
    [[nodiscard]] std::optional<std::uint32_t> v4Address() const;
    /// "1.2.3.4:69" or "[2001:db8::1]:69" (RFC 5952 text form).
    [[nodiscard]] std::string toString() const;

    static Endpoint v4(std::uint32_t hostOrderAddress, std::uint16_t port);
};

struct EndpointHash {
    std::size_t operator()(const Endpoint& e) const noexcept;
};

}  // namespace pinet::core::tftp
