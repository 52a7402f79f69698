#pragma once
// `pinetboot probe`: runs one or many virtual Pi bootloaders (core::probe::PiBoard)
// against the network on one interface, in a single poll() event loop.
//
// DHCP goes through one AF_PACKET socket: each board sends from 0.0.0.0 with its
// own MAC and xid, and replies are matched by xid, so boards without an address
// can run side by side. After the ACK, TFTP uses ordinary UDP sockets bound to
// the interface, so the datagrams leave from the interface's own address rather
// than the board's leased one (the test namespaces have a single address on the
// probe side; a real board would use its lease). One socket per RRQ gives each
// transfer a new TID, as the bootloader does.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/probe/pi_board.h"

namespace pinet::app {

struct ProbeConfig {
    std::string interface;
    core::probe::BoardConfig board;  ///< first board; serial and MAC step by one for the others
    int count = 1;
};

struct ProbeBoardResult {
    std::string serial;
    std::string mac;
    bool booted = false;
    std::string verdict;
    std::vector<core::probe::TimelineEntry> timeline;
    std::optional<std::chrono::steady_clock::duration> dhcpTime;
    std::optional<std::chrono::steady_clock::duration> kernelTime;
};

struct ProbeReport {
    std::vector<ProbeBoardResult> boards;
    std::chrono::steady_clock::duration wall{};
    std::uint64_t badChecksums = 0;
};

/// Throws std::runtime_error (naming the interface) when sockets cannot be opened.
ProbeReport runProbe(const ProbeConfig& config);

}  // namespace pinet::app
