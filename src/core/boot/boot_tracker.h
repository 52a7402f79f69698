#pragma once
// BootTracker: turns the BootEvent stream (DHCP packets, finished TFTP/HTTP
// transfers) into one boot record per boot attempt of each client, so a user
// can see why a board did not boot.
//
// Pure: no clock, no I/O, not thread-safe (the daemon holds it under a mutex).
// Time comes from the events themselves and from tick(now).
//
// Correlation. A DHCP event names the client by MAC and, for Pis, by serial
// (option 97). A transfer names it by the serial or MAC prefix directory of the
// path when there is one, else only by its IP, which we learn from OFFER/ACK
// yiaddr (full DHCP) or from an earlier prefixed request of the same IP (proxy
// DHCP, where the address comes from another server). The client key is the
// serial when known, else the MAC, else "ip:<address>".
//
// Boot boundaries. A DISCOVER opens a new boot unless the open one has seen only
// DHCP so far (retries). A boot ends as "kernel loaded" when a kernel*.img or
// boot.img finishes; transfers within afterKernel of that (initramfs, the
// firmware's re-reads) still belong to it, and so does DHCP within
// kernelDhcpWindow unless it is a bootloader DISCOVER (Linux's own ip=dhcp). A boot ends as "failed" when the board
// starts over (a new DISCOVER after files) or goes quiet for idleTimeout; the
// reason is the last significant error ("start4.elf not found", "timeout
// fetching kernel8.img"), or what was missing ("no TFTP request after DHCP").

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/boot/board_model.h"
#include "core/boot_events.h"

namespace pinet::core::boot {

struct DhcpStep {
    DhcpEvent::Kind kind = DhcpEvent::Kind::Discover;
    WallTime time{};
    std::string interface;
    std::string clientIp;
    bool proxy = false;
    std::optional<dhcp::Drop> drop;  ///< the packet got no reply, and why
    std::string detail;
};

struct FileStep {
    TransferRecord::Protocol protocol = TransferRecord::Protocol::Tftp;
    TransferRecord::Result result = TransferRecord::Result::Ok;
    WallTime start{};
    std::chrono::microseconds duration{0};
    std::string path;  ///< as requested
    std::uint64_t bytes = 0;
    std::uint64_t fileSize = 0;
    std::uint32_t blockSize = 0;
    std::string detail;
};

enum class BootOutcome { InProgress, KernelLoaded, Failed };
const char* toString(BootOutcome outcome);  ///< "in_progress", "kernel_loaded", "failed"

struct BootRecord {
    std::uint64_t id = 0;  ///< unique, increasing
    std::string clientKey;
    std::string serial;
    std::string mac;
    std::string model;
    std::string ip;
    WallTime start{};
    WallTime last{};  ///< time of the last event (end of the last transfer)
    std::optional<WallTime> end;
    BootOutcome outcome = BootOutcome::InProgress;
    std::string failure;     ///< why it failed (BootOutcome::Failed)
    std::string kernelFile;  ///< what was loaded (BootOutcome::KernelLoaded)
    std::vector<DhcpStep> dhcp;
    std::vector<FileStep> files;
    std::uint64_t droppedSteps = 0;  ///< beyond maxStepsPerBoot
    std::string lastError;           ///< the running candidate for `failure`
    std::string lastErrorFile;       ///< basename the error was about

    std::chrono::microseconds duration() const;  ///< start -> end (or last)
};

struct ClientInfo {
    std::string key;
    std::string serial;
    std::string mac;
    std::string model;  ///< option 97's "RPi4"/"RPi5", as the board said it
    /// The board's model from every sign seen: option 97's fourcc and revision code, the
    /// device tree it fetched (board_model.h).
    ModelGuess board;
    std::string ip;
    WallTime firstSeen{};
    WallTime lastSeen{};
    std::deque<BootRecord> boots;  ///< oldest first, at most historyPerClient
};

struct TrackerOptions {
    /// Boots kept per client. 20 covers a day of reboots of a flaky board while
    /// bounding memory (a boot is ~30 steps).
    std::size_t historyPerClient = 20;
    /// Clients kept in memory; the least recently seen is forgotten first. Bounds
    /// memory on a LAN where full DHCP also serves laptops and phones.
    std::size_t maxClients = 4096;
    /// A boot with no event for this long is over. The Pi's own per-file timeout
    /// is 30 s (TFTP_FILE_TIMEOUT, spec 4.1): wait twice that.
    std::chrono::seconds idleTimeout{60};
    /// Transfers this soon after the kernel still belong to the boot (initramfs).
    std::chrono::seconds afterKernel{30};
    /// DHCP this soon after the kernel is Linux's ip=dhcp, not a new boot.
    std::chrono::seconds kernelDhcpWindow{300};
    /// Steps per boot; a board looping on probes inside one boot cannot grow it.
    std::size_t maxStepsPerBoot = 1000;
};

/// What changed; the daemon uses it for SSE, logs and metrics.
struct Update {
    std::string clientKey;
    std::uint64_t bootId = 0;
    bool bootStarted = false;
    bool bootEnded = false;  ///< outcome became KernelLoaded or Failed just now
    BootOutcome outcome = BootOutcome::InProgress;
    std::chrono::microseconds duration{0};  ///< when bootEnded
    std::string failure;
    bool newClient = false;
};

class BootTracker {
public:
    explicit BootTracker(TrackerOptions options = {});

    std::vector<Update> onEvent(const BootEvent& event);
    /// Closes boots that went quiet. Call about once a second.
    std::vector<Update> tick(WallTime now);

    void setHistoryPerClient(std::size_t n);

    std::vector<const ClientInfo*> clients() const;  ///< most recently seen first
    const ClientInfo* client(const std::string& key) const;
    /// Finds a client by key, serial, MAC (any case, ':' or '-') or IP.
    const ClientInfo* findClient(const std::string& id) const;
    /// The newest @p limit boots over all clients, newest first.
    std::vector<const BootRecord*> recentBoots(std::size_t limit) const;
    const BootRecord* boot(std::uint64_t id) const;

private:
    std::vector<Update> onDhcp(const DhcpEvent& e);
    std::vector<Update> onTransfer(const TransferRecord& r);
    ClientInfo& clientFor(const std::optional<std::string>& serial, const std::string& mac,
                          const std::string& ip, WallTime now, bool& created);
    BootRecord& openBoot(ClientInfo& c, WallTime start, std::vector<Update>& updates);
    void closeFailed(ClientInfo& c, BootRecord& b, std::string reason,
                     std::vector<Update>& updates);
    void trimClients();

    TrackerOptions options_;
    std::uint64_t nextBootId_ = 1;
    std::map<std::string, ClientInfo> clients_;
    std::map<std::string, std::string> macToKey_;
    std::map<std::string, std::string> ipToKey_;
};

/// True for files whose successful transfer means the kernel (or the whole boot
/// file system) is loaded: kernel*.img, boot.img.
bool isKernelFile(const std::string& path);

}  // namespace pinet::core::boot
