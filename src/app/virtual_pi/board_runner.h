#pragma once
// Runs one or many virtual Pi bootloaders (core::virtual_pi::PiBoard) for `pinetboot probe`
// against the network on one interface, in a single io::EventLoop.
//
// Every board is a host of its own on the wire (spec §12.2), with no help from the
// kernel's IP stack: frames go out and come in through two AF_PACKET sockets (IPv4
// and ARP) in promiscuous mode. DHCP is sent from 0.0.0.0 with the board's MAC and
// matched by xid; after the ACK the board answers ARP for its leased address, ARPs
// for its TFTP server (or the router, off-link), and runs TFTP from its own address
// with a fresh source port per RRQ (a new TID, as the bootloader does). So a storm
// of 200 boards is 200 MACs and 200 addresses to the server, and per-source limits
// see what they would see with real boards.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/virtual_pi/pi_board.h"
#include "proto/error.h"

namespace pinet::app::virtual_pi {

struct RunnerConfig {
    std::string interface;
    core::virtual_pi::BoardConfig
        board;  ///< first board; serial and MAC step by one for the others
    int count = 1;
    /// HTTP mode: the PEM public key the board holds (empty: sha256 check only).
    std::string pubkey;
    /// HTTP mode: each board's GETs leave from its leased address (the kernel's TCP binds
    /// it), so that a server sees one address per board as with real boards, not all of
    /// them from the interface's one address. The leases must be local addresses of this
    /// host, e.g. in a network namespace `ip route add local POOL dev IF` (AnyIP); the
    /// kernel then answers ARP for them, so the runner does not.
    bool httpFromLease = false;
    /// Self-update (board.selfUpdate set): what each board's EEPROM holds at power-on, by
    /// serial, for boards that differ from board.selfUpdate->eeprom (`probe --eeprom-store`:
    /// the boards of an earlier run keep what they flashed).
    std::map<std::uint32_t, core::virtual_pi::EepromState> eepromBySerial;
};

struct BoardResult {
    std::string serial;
    std::string mac;
    std::string ip;  ///< leased address ("" before the ACK)
    bool booted = false;
    std::string verdict;
    std::vector<core::virtual_pi::TimelineEntry> timeline;
    std::optional<std::chrono::steady_clock::duration> dhcpTime;
    /// Power-on to kernel fetched, retries and their back-offs included.
    std::optional<std::chrono::steady_clock::duration> kernelTime;
    std::uint64_t bytes = 0;  ///< fetched whole on the last attempt (PiBoard::bytesFetched)
    int attempts = 1;         ///< attempts begun (BoardConfig::maxAttempts at most)
    /// When the attempt that booted began, since the power-on.
    std::optional<std::chrono::steady_clock::duration> bootedAttemptStart;
    std::vector<std::string> attemptFailures;  ///< why each earlier attempt failed
    /// Self-update: the EEPROM at the end of the run, flashes done, updates refused.
    std::optional<core::virtual_pi::EepromState> eeprom;
    int flashes = 0;
    std::vector<std::string> refusedUpdates;
};

struct RunnerReport {
    std::vector<BoardResult> boards;
    std::chrono::steady_clock::duration wall{};
    std::uint64_t badChecksums = 0;
    std::uint64_t arpRequestsSent = 0;
    std::uint64_t arpRepliesSent = 0;
};

/// Fails (naming the interface or key file) when sockets cannot be opened or the
/// public key cannot be read. With board.selfUpdate the board checks pieeprom.upd with
/// the `eeprom verify` code (sha256; rsa2048 with `pubkey`, then the line must be there).
Result<RunnerReport> runBoards(const RunnerConfig& config);

}  // namespace pinet::app::virtual_pi
