#pragma once
// The kernel's IPv4 neighbour (ARP) table limits, from /proc/sys/net/ipv4/neigh. The
// server keeps one entry per board it talks to; past gc_thresh3 (1024 by default) the
// kernel refuses new entries ("neighbour table overflow") and the replies to the boards
// beyond it go nowhere (ip-sysctl.rst, neigh/default/gc_thresh1..3).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pinet::io {

struct NeighbourLimits {
    /// default/gc_thresh1..3; unset when unreadable. Linux keeps them per table, and the
    /// IPv4 table is one for every network namespace: only the initial namespace shows
    /// them, so inside another one they are unset and the host's values apply.
    std::optional<std::uint64_t> gcThresh1;
    std::optional<std::uint64_t> gcThresh2;
    std::optional<std::uint64_t> gcThresh3;
    /// <interface>/gc_thresh3, if this kernel has one there (Linux has none today; read in
    /// case it does, since a per-interface limit would then be the one that counts).
    std::optional<std::uint64_t> interfaceThresh3;
    std::string directory;  ///< what was read, for messages
};

/// Reads the limits under @p directory (tests point it at a directory of their own). An
/// @p interface that is not a plain interface name (empty, "/", "..", longer than
/// IFNAMSIZ-1) is not looked up. Never fails: what cannot be read stays unset.
NeighbourLimits readNeighbourLimits(
    std::string_view interface = {},
    const std::filesystem::path& directory = "/proc/sys/net/ipv4/neigh");

}  // namespace pinet::io
