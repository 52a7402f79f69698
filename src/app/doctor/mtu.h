#pragma once
// doctor's MTU check of the boot interface (issue #15): below Ethernet's 1500 bytes the
// TFTP blocks the Pi asks for (blksize 1468 + 32 bytes of IP/UDP/TFTP headers) and full HTTP
// segments no longer fit one frame: they are fragmented, or dropped where fragments are,
// and a boot stalls.

#include <optional>
#include <string>

#include "app/doctor/doctor.h"

namespace pinet::app {

/// The check itself, pure: @p mtu of @p interface (nullopt: could not be read).
Finding checkMtu(const std::string& interface, std::optional<unsigned> mtu);

}  // namespace pinet::app
