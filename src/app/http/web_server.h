#pragma once
// The operator's HTTP listener (default 127.0.0.1:8080): dashboard, JSON API,
// server-sent events, Prometheus /metrics and /healthz. Every asset is compiled
// into the binary (dashboard.cc); nothing is fetched from elsewhere.
//
//   GET /                         dashboard (HTML; ?client=ID preselects a client)
//   GET /dashboard.js, /dashboard.css
//   GET /api/v1/clients           {"clients":[...]}
//   GET /api/v1/clients/ID        {"client":{...},"boots":[...]} (ID = serial, MAC or IP) | 404
//   GET /api/v1/boots?limit=N&client=ID   {"boots":[...]} newest first
//   GET /api/v1/events            text/event-stream
//   GET /metrics                  text/plain; version=0.0.4
//   GET /healthz                  "ok" | 503
//
// cpp-httplib runs handlers on its own thread pool; the backend must be thread-safe.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "app/config/config.h"
#include "app/http/event_hub.h"

namespace httplib {
class Server;
}

namespace pinet::app::http {

/// What the web server shows; implemented by the daemon (and by fakes in tests).
class WebBackend {
public:
    virtual ~WebBackend() = default;
    virtual std::string clientsJson() = 0;
    /// nullopt = no such client.
    virtual std::optional<std::string> clientJson(const std::string& id) = 0;
    virtual std::string bootsJson(std::size_t limit, const std::string& clientId) = 0;
    virtual std::string metricsText() = 0;
    /// false + reason when a part of the daemon is not working.
    virtual bool healthy(std::string& reason) = 0;
};

class WebServer {
public:
    WebServer(WebBackend& backend, EventHub& hub);
    ~WebServer();
    WebServer(const WebServer&) = delete;
    WebServer& operator=(const WebServer&) = delete;

    /// Binds @p address and starts serving on a thread. @throw std::runtime_error
    /// naming the address if it cannot bind. Port 0 picks a free port (tests).
    void start(const std::string& host, std::uint16_t port);
    /// The bound port.
    std::uint16_t port() const { return port_; }
    void stop();

private:
    void routes();

    WebBackend& backend_;
    EventHub& hub_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    std::uint16_t port_ = 0;
};

}  // namespace pinet::app::http
