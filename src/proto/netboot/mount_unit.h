#pragma once
// systemd mount units for overlay client roots, so an overlay `nfs apply`
// mounted is mounted again after the host reboots (systemd.mount(5)). The
// unit's file name is the mount point's path escaped as `systemd-escape
// --path` does (systemd.unit(5), "String Escaping for Inclusion in Unit
// Names"); systemd refuses a unit whose name does not match its Where=.

#include <string>
#include <string_view>

#include "proto/error.h"

namespace pinet::proto::netboot {

/// The first line of every unit pinetboot writes: `nfs apply` removes only
/// files that start with it.
inline constexpr std::string_view kMountUnitMarker =
    "# Written by pinetboot (nfs apply): an overlay client root. Edits are overwritten.";

/// `systemd-escape --path` of an absolute path: surrounding and repeated
/// '/' dropped, the rest joined by '-', every byte but [A-Za-z0-9:_.] (and
/// a leading '.') as \xNN; "/" alone is "-".
std::string systemdEscapePath(std::string_view path);

struct OverlayMount {
    std::string serial;
    std::string lower;   ///< the image's root
    std::string upper;   ///< roots/SERIAL/upper
    std::string work;    ///< roots/SERIAL/work
    std::string merged;  ///< roots/SERIAL/merged, the mount point and export
};

/// The unit's file name: systemdEscapePath(merged) + ".mount".
std::string mountUnitName(const OverlayMount& m);

/// The unit text. Refuses paths that are not absolute or that hold a byte
/// the overlay option string or a unit file would read differently: ','
/// and ':' (option and lowerdir separators), '\\', '%' (a unit specifier),
/// '"', whitespace and control bytes.
Result<std::string> renderOverlayMountUnit(const OverlayMount& m);

}  // namespace pinet::proto::netboot
