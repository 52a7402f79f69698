#pragma once
// What a pinetboot.toml means on this machine, beyond its syntax: directories that must
// exist, interfaces that must be there, addresses that must lie in the interface's subnet,
// and no full DHCP where another DHCP server already answers. check-config reports these
// with the syntax errors; serve logs them at start (issue #15).

#include <chrono>
#include <string>
#include <vector>

#include "app/config/config.h"

namespace pinet::app::config {

struct MeaningOptions {
    /// Send one DHCPDISCOVER on each full-mode interface (only there) to see whether
    /// another DHCP server answers. Off for serve's start-up (it would delay it).
    bool dhcpProbe = true;
    // dnsmasq and ISC dhcpd ping-check an address (up to 3 s) before offering it.
    std::chrono::milliseconds dhcpWait{4000};
};

/// Every problem found, one message each ("FILE: tftp.default_dir 'default': ... does not
/// exist"), empty when the file means something that can work here. @p notes (if given)
/// gets what could not be checked (the DHCP probe without the rights to bind UDP 68).
std::vector<std::string> meaningErrors(const Config& config, const MeaningOptions& opts,
                                       std::vector<std::string>* notes = nullptr);

/// The subnet checks alone, pure: @p ip / @p netmask are the interface's address and mask
/// (host byte order). Exposed for tests.
std::vector<std::string> subnetErrors(const InterfaceConfig& i, std::uint32_t ip,
                                      std::uint32_t netmask);

}  // namespace pinet::app::config
