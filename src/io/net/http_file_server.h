#pragma once
// An event-driven HTTP/1.1 file server for a listener that faces a LAN (HTTP
// boot, spec netboot-protocol.md 5): one thread, one epoll loop
// (io::EventLoop), non-blocking sockets, GET and HEAD only (proto/http/request.h
// parses them), bodies sent from an open descriptor with sendfile(2) and a
// Content-Length (never chunked), one byte range when asked. A storm of boards
// downloading at once costs a socket and a descriptor each, not a thread.
//
// What a LAN may not do to it (docs/security.md "HTTP boot under slow or
// hostile clients"): hold more than HttpLimits::perAddress connections from
// one address (503 beyond), take longer than headerDeadline from a request's
// first byte to its blank line (closed), stall a response for ioTimeout
// (closed), or hold more than maxConnections in all (503 beyond). One bad
// connection never affects another, and nothing thrown by the handler leaves
// the loop: that request is answered 500 and counted.
//
// The policy (which paths, which files, what is recorded) is the handler's,
// called on the loop thread (app/http/http_boot.cc).
//
// What can block the loop: the handler's open of a file (a few system calls on
// a local directory) and sendfile's read of a file not in the page cache. A
// room of boards reads the same boot.img, so after the first board it is a
// copy from memory; a cold read from a slow disk stalls every connection for
// that read (the kernel's readahead keeps it to one in many).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "io/fd.h"
#include "proto/error.h"
#include "proto/http/request.h"

namespace pinet::io {

/// What one peer, or all of them, can hold of the listener.
struct HttpLimits {
    /// Connections open at once, all peers. Each holds a socket, a descriptor of
    /// the file it is sending and about 13 KiB of buffers here (the kernel's socket
    /// buffers on top: tcp_wmem, bounded globally by tcp_mem), so 4096 is ~8200
    /// descriptors and ~55 MiB at most: room for a few thousand boards booting at
    /// once. The server raises its soft RLIMIT_NOFILE to fit (up to the hard
    /// limit). At the limit a new connection is answered 503 and closed; the Pi's
    /// bootloader retries.
    std::size_t maxConnections = 4096;
    /// From a request's first byte to the end of its headers. The Pi sends a few
    /// hundred bytes at once; only a trickling client needs longer. At the deadline
    /// the connection is closed without an answer (counted as a header timeout).
    std::chrono::milliseconds headerDeadline{10000};
    /// Connections one peer address may hold at once; more are answered 503 (a Pi
    /// uses one or two; a NAT of boards is unusual on a boot LAN).
    std::size_t perAddress = 8;
    /// Wait for the next request (or a new connection's first byte); then the
    /// connection is closed without an answer, as none is owed.
    std::chrono::milliseconds keepAlive{5000};
    /// A response whose bytes make no progress for this long (the client stopped
    /// reading) ends its connection (the transfer is recorded as a timeout). A live
    /// board reads all the time, so only a stuck or hostile client meets it.
    std::chrono::milliseconds ioTimeout{30000};
    /// Requests per connection (a Pi makes 2 or 3: boot.sig, boot.img, sometimes
    /// boot.img again). The last response says "Connection: close".
    std::size_t maxRequestsPerConnection = 5;
};

/// The client of a request.
struct HttpPeer {
    std::string ip;  ///< numeric, as inet_ntop writes it
    std::uint16_t port = 0;
    /// The IPv4 address in host byte order (also for IPv4-mapped IPv6 peers).
    std::optional<std::uint32_t> ipv4;
};

/// How an exchange whose reply had a file ended.
struct HttpExchangeEnd {
    enum class How {
        Complete,    ///< every byte of the response was handed to the kernel
        PeerClosed,  ///< the client closed or reset the connection first
        Stalled,     ///< no progress for HttpLimits::ioTimeout
        ReadError,   ///< the file could not be read (cut short since it was opened)
        Stopped,     ///< the server stopped before the end (drain deadline)
    };
    How how = How::Complete;
    int status = 200;                             ///< 200, 206 or 416
    std::uint64_t bodyBytes = 0;                  ///< body bytes sent
    bool head = false;                            ///< a HEAD request (no body was due)
    std::optional<proto::http::ByteRange> range;  ///< the range of a 206
};

/// What the handler answers a request with.
struct HttpReply {
    int status = 200;
    /// With a file: status 200, the body is the file (or one range of it, 206/416).
    Fd file;
    std::uint64_t fileSize = 0;
    /// Without a file: a short text/plain body (empty: Content-Length 0).
    std::string body;
    /// Extra header fields (the server's constants, never client text).
    std::vector<std::pair<std::string_view, std::string>> fields;
    /// For a file reply: called once on the loop thread when the exchange ends.
    std::function<void(const HttpExchangeEnd&)> finished;
};

class HttpFileServer {
public:
    /// Called on the loop thread for each GET or HEAD. Must not block for long.
    using Handler = std::function<HttpReply(const proto::http::Request&, const HttpPeer&)>;
    /// (client IPv4 in host order, file bytes sent to it since the last call: the
    /// content, as the TFTP server counts it; response heads are not counted).
    using ProgressHook = std::function<void(std::uint32_t, std::uint64_t)>;

    struct Counters {
        std::uint64_t refusedOverCap = 0;   ///< per-address cap, answered 503
        std::uint64_t refusedTotalCap = 0;  ///< maxConnections, answered 503
        std::uint64_t headerTimeouts = 0;   ///< closed: headers not complete in time
        std::uint64_t badRequests = 0;      ///< answered 4xx/5xx by the parser, closed
        std::uint64_t stalled = 0;          ///< closed: response made no progress
        std::uint64_t internalErrors = 0;   ///< handler or loop threw (answered 500/closed)
        std::uint64_t acceptErrors = 0;     ///< accept() out of descriptors or memory
        std::uint64_t connections = 0;      ///< open now
    };

    /// @p logName prefixes the log events ("HTTP_BOOT" -> HTTP_BOOT_BUSY, HTTP_BOOT_TIMEOUT).
    HttpFileServer(HttpLimits limits, std::string logName, Handler handler);
    ~HttpFileServer();
    HttpFileServer(const HttpFileServer&) = delete;
    HttpFileServer& operator=(const HttpFileServer&) = delete;

    /// Binds @p host:@p port (0: any free port) and starts the loop thread.
    /// Returns the bound port.
    Result<std::uint16_t> start(const std::string& host, std::uint16_t port);
    /// Stops accepting and closes idle connections; responses in progress get
    /// up to @p drain to finish (then end as Stopped). Joins the loop thread.
    void stop(std::chrono::milliseconds drain = std::chrono::seconds(5));

    /// Admission control's view of the traffic: @p hook is called on the loop
    /// thread with each client's bytes, at most every ~100 ms per connection and
    /// when the connection closes (never for IPv6 peers). Must be quick; may be
    /// set or cleared (empty function) at any time.
    void setProgressHook(ProgressHook hook);

    [[nodiscard]] Counters counters() const;
    [[nodiscard]] const HttpLimits& limits() const { return limits_; }

private:
    struct Loop;

    void run();

    HttpLimits limits_;
    std::string logName_;
    Handler handler_;
    std::unique_ptr<Loop> loop_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::int64_t> drainMs_{5000};

    std::mutex hookMutex_;
    ProgressHook hook_;
    std::atomic<std::uint64_t> hookVersion_{0};

    struct AtomicCounters {
        std::atomic<std::uint64_t> refusedOverCap{0};
        std::atomic<std::uint64_t> refusedTotalCap{0};
        std::atomic<std::uint64_t> headerTimeouts{0};
        std::atomic<std::uint64_t> badRequests{0};
        std::atomic<std::uint64_t> stalled{0};
        std::atomic<std::uint64_t> internalErrors{0};
        std::atomic<std::uint64_t> acceptErrors{0};
        std::atomic<std::uint64_t> connections{0};
    };
    AtomicCounters counters_;
};

}  // namespace pinet::io
