#pragma once
// Whether the kernel's neighbour (ARP) table holds an entry for every board that boots at
// once. The server needs one per board it answers (every TFTP and HTTP reply goes to the
// board's own address, which the kernel resolves through this table); past net.ipv4.neigh.default.gc_thresh3 (1024 by default) the kernel refuses new entries
// ("neighbour table overflow"), the replies to the boards beyond it are dropped and those
// boards time out. `doctor` reports it as a finding with the fix; `serve` logs a warning
// at start. Neither changes a setting.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "app/doctor/doctor.h"
#include "io/net/neighbour_limits.h"

namespace pinet::app {

namespace config {
struct Config;
}

/// Entries kept for hosts other than the boards (router, admin machines, other servers):
/// the kernel's own gc_thresh1 default, below which it never collects.
inline constexpr std::size_t kNeighbourSlack = 128;

/// The check itself, pure: @p boards booting at once against @p limits. boards 0 = not
/// known (the finding then says how many the table has room for).
Finding checkNeighbourTable(const io::NeighbourLimits& limits, std::size_t boards);

/// The addresses full-mode DHCP hands out on every interface of @p c (the default pool
/// .100-.200 when an interface names no range): the number of boards that can boot.
std::size_t dhcpPoolSize(const config::Config& c);

/// For `serve` at start: a one-line warning (with its fix) when the table has no room for
/// @p poolSize boards, read from this machine's /proc; nullopt when it has, or when it
/// cannot be read and the pool fits the kernel's default limit.
std::optional<std::string> neighbourTableWarning(std::size_t poolSize,
                                                 std::string_view interface = {});

}  // namespace pinet::app
