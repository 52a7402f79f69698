#pragma once
// Facts about one named network interface (Linux): index, MAC, first IPv4 address.

#include <array>
#include <cstdint>
#include <string>

#include "proto/error.h"

namespace pinet::io {

struct InterfaceInfo {
    std::string name;
    int index = 0;
    std::array<std::uint8_t, 6> mac{};
    std::uint32_t ip = 0;       ///< host byte order; 0 when the interface has no IPv4 address
    std::uint32_t netmask = 0;  ///< host byte order
};

/// Errors name the interface and the reason (missing, no IPv4 address when required).
Result<InterfaceInfo> interfaceInfo(const std::string& name, bool needIpv4);

/// The interface's MTU (/sys/class/net/NAME/mtu); errors name the interface.
Result<unsigned> interfaceMtu(const std::string& name);

}  // namespace pinet::io
