#pragma once
// HTTP boot for Pi 4 (bootloader 2022-03 on) and Pi 5: BOOT_ORDER mode 7
// (spec netboot-protocol.md section 5). The bootloader GETs
// http://<HTTP_HOST>/<HTTP_PATH>/boot.sig and .../boot.img. We answer exactly
// those two names below the boot root with 200 + Content-Length (never chunked,
// never a redirect: the Pi follows neither, rpi-eeprom#475), 404 for a missing
// file, 403 for anything else. Each request is reported as a
// TransferRecord{Protocol::Http}.
//
// This listener is separate from the dashboard: it faces the boot LAN
// ([http] boot_listen) while the dashboard stays on loopback. It is an
// event-driven server (io::HttpFileServer: one epoll thread, sendfile), so a
// storm of boards costs a socket each, not a thread. Because it faces the LAN,
// a connection must send its request headers within a deadline, each peer
// address may hold only a few connections, a response that stops moving is
// cut, and the whole is capped (HttpBootLimits), so idle or trickling
// connections (slowloris) cannot take what a storm of booting boards needs.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/boot_events.h"
#include "core/http/boot_path.h"
#include "io/net/http_file_server.h"

namespace pinet::app::http {

/// What one peer, or all of them, can hold of the HTTP boot listener.
using HttpBootLimits = io::HttpLimits;

class HttpBootServer {
public:
    /// Returns the current boot root (re-read per request, so SIGHUP changes apply).
    using RootProvider = std::function<std::string()>;

    HttpBootServer(RootProvider root, core::BootEventSink* sink, HttpBootLimits limits = {});
    ~HttpBootServer();
    HttpBootServer(const HttpBootServer&) = delete;
    HttpBootServer& operator=(const HttpBootServer&) = delete;

    /// @throw std::runtime_error if it cannot bind. Port 0 = any free port.
    void start(const std::string& host, std::uint16_t port);
    std::uint16_t port() const { return port_; }
    /// Stops accepting; transfers in progress get up to @p drain to finish (as
    /// TFTP's: a stopping service must not hang on a slow board).
    void stop(std::chrono::milliseconds drain = std::chrono::seconds(5));

    /// Admission control's hook (io::HttpFileServer::setProgressHook): a client's
    /// IPv4 and the bytes sent to it, every ~100 ms per connection and at its close.
    void setProgressHook(io::HttpFileServer::ProgressHook hook);

    /// Per-client files in front of the root (EEPROM rollouts): for a GET of
    /// ".../<serial>/<name>" the folder holding the file to serve instead, or nullopt
    /// (then the usual rules: only boot.img / boot.sig beneath the root). Set before
    /// start(); called on the server's loop thread.
    using OverlayDir =
        std::function<std::optional<std::string>(std::string_view serial, std::string_view name)>;
    void setOverlay(OverlayDir overlay) { overlay_ = std::move(overlay); }

    std::uint64_t inFlight() const { return inFlight_.load(); }
    /// Connections refused because their address held perAddress already.
    std::uint64_t refusedOverCap() const;
    /// Connections closed because their headers missed the deadline.
    std::uint64_t headerTimeouts() const;
    /// Everything the server counts (refusals by reason, stalls, bad requests).
    io::HttpFileServer::Counters counters() const;

private:
    io::HttpReply handle(const proto::http::Request& req, const io::HttpPeer& peer);

    RootProvider root_;
    OverlayDir overlay_;
    core::BootEventSink* sink_;
    std::unique_ptr<io::HttpFileServer> server_;
    std::uint16_t port_ = 0;
    std::atomic<std::uint64_t> inFlight_{0};
};

/// The request path rules (src/core/http/boot_path.h), where the tests expect them.
using core::http::parseBootPath;

}  // namespace pinet::app::http
