#pragma once
// The operator's HTTP listener (default 127.0.0.1:8080): dashboard, JSON API,
// server-sent events, Prometheus /metrics and /healthz. Every asset is compiled
// into the binary (dashboard.cc); nothing is fetched from elsewhere.
//
//   GET /                         dashboard (HTML; ?client=ID preselects a client)
//   GET /dashboard.js, /dashboard.css, /dashboard-fleet.js (Images and Doctor views)
//   GET /api/v1/clients           {"clients":[...]}
//   GET /api/v1/clients/ID        {"client":{...},"boots":[...]} (ID = serial, MAC or IP) | 404
//   GET /api/v1/boots?limit=N&client=ID   {"boots":[...]} newest first
//   GET /api/v1/events            text/event-stream
//   GET /api/v1/images            {"images":[...]} (FleetReader; docs/api.md)
//   GET /api/v1/doctor            {"findings":[...],...} (FleetReader; docs/api.md)
//   GET /api/v1/nodes             {"self":ID,"nodes":[...],...} (NodesReader; docs/api.md)
//   GET /api/v1/nodes/boots?limit=N   {"boots":[...]} every node's boots, newest first
//   GET /metrics                  text/plain; version=0.0.4
//   GET /healthz                  "ok" | 503
//   POST/GET/DELETE /api/v1/session   sign in (token -> cookie + CSRF token), state, sign out
//   POST /api/v1/clients, PATCH|DELETE /api/v1/clients/SERIAL, POST .../SERIAL/reset,
//   DELETE /api/v1/images/NAME    the writes (ClientAdmin; docs/api.md)
//
// Authentication (WebAuth, docs/api.md): every write needs a bearer token or a
// session cookie with its CSRF token; reads need one too when the listener is
// not on loopback (setAuth). Open always: the page's shell and assets, sign-in,
// /healthz.
// cpp-httplib runs handlers on its own thread pool; the backend must be thread-safe.
//
// Every request must name us in its Host header (hostAllowed): without auth, a
// page on another site could otherwise read the API through DNS rebinding (its
// name re-pointed at 127.0.0.1, the browser's same-origin check is satisfied, but
// the Host header still carries the attacker's name). Others get 421.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "app/config/config.h"
#include "app/http/event_hub.h"
#include "app/http/fleet_reader.h"
#include "app/http/nodes_reader.h"
#include "app/http/web_auth.h"

namespace pinet::app::http {
class ClientAdmin;
}  // namespace pinet::app::http

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

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
    /// /api/v1/admission: the boot storm admission queue (api::admissionJson).
    virtual std::string admissionJson() { return "{\"enabled\":false}"; }
    /// false + reason when a part of the daemon is not working.
    virtual bool healthy(std::string& reason) = 0;
};

/// PEM files for HTTPS ([http] tls_cert, tls_key).
struct TlsFiles {
    std::string cert;
    std::string key;
};

class WebServer {
public:
    WebServer(WebBackend& backend, EventHub& hub);
    /// HTTPS with @p tls. @throw std::runtime_error naming the files when OpenSSL
    /// cannot load them (or the key does not match the certificate).
    WebServer(WebBackend& backend, EventHub& hub, const TlsFiles& tls);
    ~WebServer();
    WebServer(const WebServer&) = delete;
    WebServer& operator=(const WebServer&) = delete;

    /// Host names accepted besides the listen address, the address a request came in
    /// on, `localhost` and the loopback literals ([http] allowed_hosts). Call before start().
    void setAllowedHosts(std::vector<std::string> names);

    /// Images and doctor (GET /api/v1/images, /api/v1/doctor); without one those
    /// answer 404 {"error":{"code":"not_available"}}. Call before start(); @p reader
    /// must outlive the server.
    void setFleetReader(FleetReader* reader) { fleet_ = reader; }
    /// Several nodes (GET /api/v1/nodes, /api/v1/nodes/boots); without one those answer
    /// 404 not_available. Call before start(); @p reader must outlive the server.
    void setNodesReader(const NodesReader* reader) { nodes_ = reader; }
    /// Who may do what (may be null: then writes get 503, reads are open). @p
    /// readsNeedCredential: the listener is reachable beyond loopback. Call before start().
    void setAuth(WebAuth* auth, bool readsNeedCredential);
    /// The writes; without one they answer 503 not_available. Call before start().
    void setClientAdmin(ClientAdmin* admin) { admin_ = admin; }

    /// Binds @p address and starts serving on a thread. @throw std::runtime_error
    /// naming the address if it cannot bind. Port 0 picks a free port (tests).
    void start(const std::string& host, std::uint16_t port);
    /// The bound port.
    std::uint16_t port() const { return port_; }
    void stop();

private:
    void routes();
    void fleetRoutes();
    void plainRoutes();
    void writeRoutes();
    /// Pre-routing: false when the request lacks the credential it needs (the
    /// refusal is then in @p res).
    bool gate(const httplib::Request& req, httplib::Response& res);
    /// The request's credential (Allowed, or why not). @p write: needs CSRF with a cookie.
    AuthDecision credentialOf(const httplib::Request& req, bool write);

    WebBackend& backend_;
    EventHub& hub_;
    bool tls_ = false;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    std::uint16_t port_ = 0;
    std::vector<std::string> allowedHosts_;  ///< lower case; fixed once started
    FleetReader* fleet_ = nullptr;
    const NodesReader* nodes_ = nullptr;
    WebAuth* auth_ = nullptr;
    bool readsNeedCredential_ = false;
    ClientAdmin* admin_ = nullptr;
};

/// True if a request whose Host header is @p host (port and IPv6 brackets allowed),
/// received on local address @p localAddr, is for us: the host is @p localAddr, one of
/// @p allowed (compared without case), `localhost`, 127.0.0.1 or ::1. An empty
/// or missing Host is refused. Pure; exposed for tests.
bool hostAllowed(std::string_view host, std::string_view localAddr,
                 const std::vector<std::string>& allowed);

/// True for 127.0.0.0/8, ::1 and `localhost`: a listener only this machine reaches.
bool isLoopbackHost(std::string_view host);

/// Why `serve` must not listen on @p host: nullopt when it may (loopback, TLS, or
/// [http] allow_plaintext_remote); else the refusal, saying how to fix it.
std::optional<std::string> plaintextListenRefusal(std::string_view host, std::uint16_t port,
                                                  bool tls, bool allowPlaintextRemote);

}  // namespace pinet::app::http
