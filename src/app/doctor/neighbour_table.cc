#include "app/doctor/neighbour_table.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "app/config/config.h"
#include "proto/dhcp/dhcp_packet.h"

namespace pinet::app {

namespace {

// The kernel's defaults (ip-sysctl.rst): used in the message when the values cannot be read.
constexpr std::uint64_t kDefaultThresh3 = 1024;
// The default full-mode pool: .100-.200 (app/dhcp DhcpServer).
constexpr std::size_t kDefaultPool = 101;

/// gc_thresh1..3 for @p boards: gc_thresh3 (the hard limit) twice what is needed, rounded
/// up to a power of two; gc_thresh2 (above which entries older than 5 s are collected)
/// half of it, so it still holds every board; gc_thresh1 (below which nothing is ever
/// collected) a quarter. Never lower than what is set now.
struct Recommended {
    std::uint64_t t1 = 0;
    std::uint64_t t2 = 0;
    std::uint64_t t3 = 0;
};

Recommended recommend(const io::NeighbourLimits& l, std::size_t boards) {
    const std::uint64_t need = boards + kNeighbourSlack;
    Recommended r;
    r.t3 = std::max<std::uint64_t>(std::bit_ceil(2 * need), l.gcThresh3.value_or(0));
    r.t2 = std::max<std::uint64_t>(r.t3 / 2, l.gcThresh2.value_or(0));
    r.t1 = std::max<std::uint64_t>(r.t3 / 4, l.gcThresh1.value_or(0));
    return r;
}

std::string fixText(const Recommended& r) {
    return fmt::format(
        "sysctl -w net.ipv4.neigh.default.gc_thresh1={0} net.ipv4.neigh.default.gc_thresh2={1} "
        "net.ipv4.neigh.default.gc_thresh3={2}; to keep it across reboots: printf "
        "'net.ipv4.neigh.default.gc_thresh1 = {0}\\nnet.ipv4.neigh.default.gc_thresh2 = "
        "{1}\\nnet.ipv4.neigh.default.gc_thresh3 = {2}\\n' > /etc/sysctl.d/60-pinetboot-neigh.conf "
        "(on the host, when serve runs in a network namespace)",
        r.t1, r.t2, r.t3);
}

}  // namespace

Finding checkNeighbourTable(const io::NeighbourLimits& l, std::size_t boards) {
    const std::string check = "neighbour table";
    std::optional<std::uint64_t> t3 = l.gcThresh3;
    std::string which = "net.ipv4.neigh.default.gc_thresh3";
    if (l.interfaceThresh3 && (!t3 || *l.interfaceThresh3 < *t3)) {
        t3 = l.interfaceThresh3;
        which = "the interface's gc_thresh3";
    }
    const Recommended r = recommend(l, boards);
    if (!t3) {
        // Inside a network namespace the limits are the host's and not shown here.
        return {boards + kNeighbourSlack > kDefaultThresh3 ? Severity::Warn : Severity::Info, check,
                fmt::format("cannot read {}/default/gc_thresh3 (a network namespace? the host's "
                            "limit applies, {} by default){}",
                            l.directory, kDefaultThresh3,
                            boards == 0 ? std::string()
                                        : fmt::format("; {} boards need more than {} entries",
                                                      boards, boards + kNeighbourSlack)),
                boards + kNeighbourSlack > kDefaultThresh3
                    ? "check on the host: sysctl net.ipv4.neigh.default.gc_thresh3; if lower: " +
                          fixText(r)
                    : std::string()};
    }
    const std::uint64_t room = *t3 > kNeighbourSlack ? *t3 - kNeighbourSlack : 0;
    if (boards == 0) {
        return {Severity::Ok,
                check,
                fmt::format("{} = {}: room for about {} boards booting at once (boards unknown: "
                            "pass --boards N or --config with the DHCP range)",
                            which, *t3, room),
                {}};
    }
    if (boards > room) {
        return {
            Severity::Warn, check,
            fmt::format("{} = {} entries, but {} boards booting at once need {} entries, "
                        "plus {} for other hosts: past the limit the kernel drops new neighbour "
                        "entries (\"neighbour table overflow\"), the server's replies to the "
                        "boards beyond it go nowhere and those boards time out",
                        which, *t3, boards, boards, kNeighbourSlack),
            fixText(r)};
    }
    if (l.gcThresh2 && *l.gcThresh2 < boards) {
        return {Severity::Info, check,
                fmt::format("gc_thresh3 = {} holds {} boards, but gc_thresh2 = {} is lower: above "
                            "it the kernel collects entries older than 5 s, so boards are "
                            "ARPed again during a storm",
                            *t3, boards, *l.gcThresh2),
                fixText(r)};
    }
    return {Severity::Ok,
            check,
            fmt::format("{} = {}: room for {} boards booting at once ({} expected)", which, *t3,
                        room, boards),
            {}};
}

std::size_t dhcpPoolSize(const config::Config& c) {
    std::size_t total = 0;
    for (const auto& iface : c.interfaces) {
        if (iface.dhcp != config::DhcpMode::Full) {
            continue;
        }
        const auto first = proto::dhcp::parseIp(iface.rangeFirst);
        const auto last = proto::dhcp::parseIp(iface.rangeLast);
        if (first && last && *first <= *last) {
            total += static_cast<std::size_t>(*last - *first) + 1;
        } else {
            total += kDefaultPool;
        }
    }
    return total;
}

std::optional<std::string> neighbourTableWarning(std::size_t poolSize, std::string_view interface) {
    const Finding f = checkNeighbourTable(io::readNeighbourLimits(interface), poolSize);
    if (f.severity != Severity::Warn) {
        return std::nullopt;
    }
    return fmt::format("NEIGHBOUR_TABLE_SMALL pool={}: {}; fix: {}", poolSize, f.message, f.fix);
}

}  // namespace pinet::app
