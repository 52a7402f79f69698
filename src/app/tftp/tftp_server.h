#pragma once
// The TFTP server: one epoll loop on its own thread driving the listen socket
// and a small pool of reply sockets with batched recvmmsg/sendmmsg, the
// per-transfer state machines of core/tftp, and the shared file cache.
// `pinetboot tftp` runs it alone; `serve` embeds it (resolver from its client
// registry, events into its BootEvent stream, counters into its metrics).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/boot_events.h"
#include "core/tftp/client_dirs.h"
#include "core/tftp/source_limiter.h"
#include "core/tftp/transfer.h"
#include "proto/error.h"

namespace pinet::app {

struct TftpServerConfig {
    /// "ADDR:PORT"; port 0 binds an ephemeral port (tests), see TftpServer::port().
    std::string listen = "0.0.0.0:69";
    /// Everything served lives beneath this directory (openat2 RESOLVE_BENEATH).
    std::filesystem::path root;
    /// Boot directory for unknown serial/MAC prefixes, relative to root; empty = none.
    std::string defaultDir;
    core::tftp::TransferLimits transfer;
    core::tftp::SourceLimits source;
    /// Concurrent transfers in total. Each costs a few hundred bytes; the
    /// limit bounds memory and CPU under a flood, not normal use.
    std::size_t maxTransfers = 4096;
    /// Reply sockets (ephemeral ports) shared by transfers, round robin. Each
    /// transfer gets a port other than the listen port (RFC 1350 TID); a
    /// client port reused within a few transfers still sees a new server port.
    std::size_t replySockets = 4;
    /// SO_RCVBUF/SO_SNDBUF per socket: room for a burst of ACKs from hundreds
    /// of clients between two loop turns.
    int socketBufferBytes = 4 << 20;
    /// Interrupt moderation, off by default: with at least coalesceMinTransfers
    /// transfers running and a loop turn that handled at least coalesceThreshold
    /// datagrams, sleep this long before waiting again, so the next turn
    /// drains a bigger batch (fewer sleep/wake context switches per datagram).
    /// It trades boot time for CPU: every lockstep client waits out the pause
    /// on each block. Measured (docs/benchmarks.md, 64 lockstep clients):
    /// 300 us saves about 10 % CPU per GiB and costs half the throughput, so
    /// only a CPU-starved server should turn it on. 0 = off.
    std::chrono::microseconds coalesce{0};
    std::uint32_t coalesceThreshold = 8;
    std::size_t coalesceMinTransfers = 32;
    /// Test hook: drop every Nth outgoing datagram (0 = off).
    std::uint32_t testDropEvery = 0;
};

/// Why a request or packet was refused or dropped. Each has a counter.
enum class TftpRefusal : std::size_t {
    Malformed,          ///< not a valid TFTP packet
    Truncated,          ///< datagram larger than the receive buffer
    WriteRequest,       ///< WRQ: the server is read-only
    BadMode,            ///< mode "mail"
    BadPath,            ///< empty, control characters, too long
    PathEscape,         ///< "..", absolute, backslash, or a symlink out of the root
    NotFound,           ///< no such file (ERROR 1)
    SpecialFile,        ///< directory, FIFO, device, socket
    AccessDenied,       ///< permission denied on our side
    RateLimited,        ///< per-source request rate
    TooManyConcurrent,  ///< per-source concurrent transfers
    SourceTableFull,    ///< too many distinct sources tracked
    ServerFull,         ///< maxTransfers reached
    ShuttingDown,       ///< request during drain
    DuplicateRequest,   ///< retransmitted RRQ for a transfer already under way
    UnknownTid,         ///< packet for no transfer (late, or another port's)
    UnexpectedPacket,   ///< DATA/OACK sent to a server, or non-RRQ on the listen port
    IoError,            ///< open/mmap failed
    kCount
};

const char* toString(TftpRefusal r);

struct TftpCounters {
    std::uint64_t packetsIn = 0;
    std::uint64_t packetsOut = 0;
    std::uint64_t packetsOutSegmented = 0;  ///< of packetsOut, sent inside UDP GSO groups
    std::uint64_t bytesOut = 0;
    std::uint64_t sendFailures = 0;
    std::uint64_t testDropped = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t coalescePauses = 0;  ///< loop turns that slept `coalesce` first
    std::uint64_t transfersStarted = 0;
    std::uint64_t transfersActive = 0;
    /// Finished transfers by TransferRecord::Result.
    std::array<std::uint64_t, 7> finished{};
    std::array<std::uint64_t, static_cast<std::size_t>(TftpRefusal::kCount)> refused{};
    std::uint64_t cacheHits = 0;
    std::uint64_t cacheMisses = 0;

    [[nodiscard]] std::uint64_t refusedCount(TftpRefusal r) const {
        return refused[static_cast<std::size_t>(r)];
    }
    [[nodiscard]] std::uint64_t finishedCount(core::TransferRecord::Result r) const {
        return finished[static_cast<std::size_t>(r)];
    }
};

class TftpServer {
public:
    /// Opens the root and binds the sockets. Fails with one clear line.
    static Result<std::unique_ptr<TftpServer>> create(TftpServerConfig config);
    ~TftpServer();
    TftpServer(const TftpServer&) = delete;
    TftpServer& operator=(const TftpServer&) = delete;

    /// The bound listen address ("127.0.0.1:40123") and port.
    [[nodiscard]] std::string listenAddress() const;
    [[nodiscard]] std::uint16_t port() const;

    /// Maps serial/MAC prefixes to boot directories; may be swapped while running.
    void setResolver(std::shared_ptr<const core::tftp::ClientDirectoryResolver> resolver);
    /// Receives a TransferRecord for every finished (or refused) request.
    /// Set before start(); must outlive the server.
    void setEventSink(core::BootEventSink* sink);

    /// Runs the loop on a new thread.
    void start();
    /// Stops taking requests, lets running transfers finish for up to @p drain,
    /// aborts the rest, and joins the thread.
    void stop(std::chrono::milliseconds drain = std::chrono::seconds(5));

    [[nodiscard]] TftpCounters counters() const;
    [[nodiscard]] std::vector<core::tftp::UnknownClientLog::Entry> unknownClients() const;

    struct Impl;

private:
    explicit TftpServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// Resolver for `pinetboot tftp`: a client is enrolled when a folder named by
/// its serial or MAC exists under the root.
class FolderClientResolver final : public core::tftp::ClientDirectoryResolver {
public:
    explicit FolderClientResolver(std::filesystem::path root) : root_(std::move(root)) {}
    std::optional<std::string> directoryForSerial(std::string_view serial) const override;
    std::optional<std::string> directoryForMac(std::string_view mac) const override;

private:
    std::optional<std::string> lookup(std::string_view name) const;
    std::filesystem::path root_;
};

}  // namespace pinet::app
