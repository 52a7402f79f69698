#pragma once
// The TFTP server's I/O: one io::DatagramLoop on its own thread driving the
// listen socket and the reply sockets (one per transfer, or a small pool),
// on io_uring where the kernel allows it (one submission per turn for every
// socket's sends, multishot receives) or epoll with batched
// recvmmsg/sendmmsg. Every decision is core::tftp::TftpEngine's; this file
// only moves datagrams between the sockets and the engine, and owns the file
// cache (the engine's FileSource).
// `pinetboot tftp` runs it alone; `serve` embeds it (resolver from its client
// registry, events into its BootEvent stream, counters into its metrics).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/tftp/in_place_source.h"
#include "core/boot_events.h"
#include "core/tftp/client_dirs.h"
#include "core/tftp/tftp_engine.h"
#include "io/net/datagram_loop.h"
#include "proto/error.h"

namespace pinet::app {

struct TftpServerConfig {
    /// "ADDR:PORT"; port 0 binds an ephemeral port (tests), see TftpServer::port().
    std::string listen = "0.0.0.0:69";
    /// Everything served lives beneath this directory (openat2 RESOLVE_BENEATH).
    std::filesystem::path root;
    /// Boot directory for unknown serial/MAC prefixes, relative to root; empty = none.
    std::string defaultDir;
    // Policy limits: the engine's defaults, shared by `pinetboot tftp` and `serve`.
    core::tftp::TransferLimits transfer = core::tftp::EngineConfig{}.transfer;
    core::tftp::SourceLimits source = core::tftp::EngineConfig{}.source;
    std::size_t maxTransfers = core::tftp::EngineConfig{}.maxTransfers;
    /// A new reply socket per transfer on a random port (the default), or a
    /// pool of replySockets for the daemon's life (core::tftp::ReplyPorts).
    core::tftp::ReplyPorts replyPorts = core::tftp::EngineConfig{}.replyPorts;
    std::size_t replySockets = core::tftp::EngineConfig{}.replySockets;
    /// The kernel interface of the sockets: Auto = io_uring if the kernel
    /// allows it (containers often forbid it), else epoll, with a log line
    /// either way. At 64 lockstep clients a socket per transfer costs 21-27 %
    /// more CPU per GiB than the pool on epoll, 4 % more on io_uring
    /// (docs/benchmarks.md).
    io::LoopChoice io = io::LoopChoice::Auto;
    /// SO_RCVBUF/SO_SNDBUF of the listen socket and pool sockets: room for a
    /// burst of requests or ACKs from hundreds of clients between two loop turns.
    int socketBufferBytes = 4 << 20;
    /// The same for a transfer's own socket: one RFC 7440 window out (64 x 1468
    /// bytes at most, ~94 KB, as one GSO message) and its ACKs in.
    int transferSocketBufferBytes = 256 << 10;
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
    /// Admission (issue #14; may be null): told what each loop turn sent, and with
    /// admitAtFirstRequest (serve --dhcp off) the gate of a board's first request.
    core::boot::AdmissionGate* admission = nullptr;
    /// Per-client files in front of the root (EEPROM rollouts); not owned, may be null.
    core::tftp::FileOverlay* overlay = nullptr;
    bool admitAtFirstRequest = false;
    /// Test hook: drop every Nth outgoing datagram (0 = off).
    std::uint32_t testDropEvery = 0;
};

// The policy's names, where the server's users (serve, tests) expect them.
using TftpRefusal = core::tftp::TftpRefusal;
using TftpCounters = core::tftp::TftpCounters;

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
    /// What the sockets run on (io_uring or epoll), as chosen by create().
    [[nodiscard]] io::LoopBackend ioBackend() const;

    /// Maps serial/MAC prefixes to boot directories; may be swapped while running.
    void setResolver(std::shared_ptr<const core::tftp::ClientDirectoryResolver> resolver);
    /// Client directories whose other files come out of an in-place image (any thread).
    void setInPlaceViews(std::shared_ptr<const InPlaceViews> views);
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
