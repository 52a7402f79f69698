#pragma once
// An httplib::Server for listeners that face a LAN (HTTP boot): cpp-httplib
// 0.11's own connection loop gives each connection keep_alive_max_count
// requests of up to read_timeout per byte, with no bound on the whole, so a
// few idle or trickling connections (slowloris) hold every worker. This one
// runs the connection loop itself (process_and_close_socket is virtual): a
// counted slot per peer address (503 beyond it), a deadline for each request's
// headers, then httplib's own request parsing and routing (process_request).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include <httplib.h>

namespace pinet::io {

/// What one peer, or all of them, can hold of a guarded listener.
struct HttpLimits {
    /// Worker threads: connections served at once (more wait in the accept queue).
    /// A Pi fetches boot.sig then boot.img on one or two connections, so this is
    /// about the number of boards booting over HTTP at the same moment.
    std::size_t workers = 128;
    /// From a request's first byte to the end of its headers. The Pi sends a few
    /// hundred bytes at once; only a trickling client needs longer.
    std::chrono::milliseconds headerDeadline{10000};
    /// Connections one peer address may hold at once; more are answered 503.
    std::size_t perAddress = 8;
    /// Wait for the next request on a kept-alive connection.
    std::chrono::milliseconds keepAlive{5000};
    /// Each read or write (after the headers) that makes no progress for this long
    /// ends the connection.
    std::chrono::milliseconds ioTimeout{30000};
};

class GuardedHttpServer final : public httplib::Server {
public:
    /// @p logName prefixes the log events ("HTTP_BOOT" -> HTTP_BOOT_BUSY, HTTP_BOOT_TIMEOUT).
    GuardedHttpServer(HttpLimits limits, std::string logName);

    /// httplib listens with a backlog of 5; a room of boards connecting at once would
    /// see SYNs dropped and retried a second later. listen() again only resizes it.
    void widenBacklog();

    std::uint64_t refusedOverCap() const { return refused_.load(); }
    std::uint64_t headerTimeouts() const { return headerTimeouts_.load(); }
    const HttpLimits& limits() const { return limits_; }

private:
    bool process_and_close_socket(socket_t sock) override;
    bool serve(int sock);
    bool acquire(const std::string& peer);
    void release(const std::string& peer);

    HttpLimits limits_;
    std::string logName_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::size_t> perAddress_;
    std::atomic<std::uint64_t> refused_{0};
    std::atomic<std::uint64_t> headerTimeouts_{0};
};

}  // namespace pinet::io
