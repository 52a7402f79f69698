#include "app/http/web_server.h"

#include <charconv>
#include <stdexcept>

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "app/http/dashboard.h"
#include "app/json_text.h"

namespace pinet::app::http {

namespace {

/// Threads for API requests plus up to EventHub::kMaxSubscribers SSE streams,
/// each of which holds a thread while connected.
constexpr std::size_t kWorkerThreads = EventHub::kMaxSubscribers + 8;

std::size_t parseLimit(const httplib::Request& req, std::size_t def, std::size_t max) {
    if (!req.has_param("limit")) {
        return def;
    }
    const auto v = req.get_param_value("limit");
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n == 0) {
        return def;
    }
    return std::min(n, max);
}

/// JSON inside <script>: "</" would end the element.
std::string scriptSafe(const std::string& json) {
    std::string out;
    out.reserve(json.size());
    for (std::size_t i = 0; i < json.size(); ++i) {
        if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') {
            out += "<\\/";
            ++i;
        } else {
            out += json[i];
        }
    }
    return out;
}

std::string lowerAscii(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

}  // namespace

bool hostAllowed(std::string_view host, std::string_view localAddr,
                 const std::vector<std::string>& allowed) {
    // "name", "name:port", "1.2.3.4:port", "[::1]:port" -> the name part.
    std::string_view name = host;
    if (!name.empty() && name.front() == '[') {
        const auto close = name.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        const auto rest = name.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            return false;
        }
        name = name.substr(1, close - 1);
    } else if (const auto colon = name.find(':'); colon != std::string_view::npos) {
        name = name.substr(0, colon);
    }
    if (!name.empty() && name.back() == '.') {
        name.remove_suffix(1);  // "localhost." is the same name
    }
    if (name.empty()) {
        return false;
    }
    const auto n = lowerAscii(name);
    if (n == "localhost" || n == "127.0.0.1" || n == "::1" || n == lowerAscii(localAddr)) {
        return true;
    }
    for (const auto& a : allowed) {
        if (n == a) {
            return true;
        }
    }
    return false;
}

WebServer::WebServer(WebBackend& backend, EventHub& hub)
    : backend_(backend), hub_(hub), server_(std::make_unique<httplib::Server>()) {
    server_->new_task_queue = [] {
        return new httplib::ThreadPool(kWorkerThreads);
    };
    // Slow or silent clients must not hold workers for long.
    server_->set_read_timeout(10, 0);
    server_->set_write_timeout(10, 0);
    server_->set_payload_max_length(64 * 1024);  // we take no uploads
    routes();
}

WebServer::~WebServer() {
    stop();
}

void WebServer::setAllowedHosts(std::vector<std::string> names) {
    for (auto& n : names) {
        n = lowerAscii(n);
    }
    allowedHosts_ = std::move(names);
}

void WebServer::routes() {
    auto& s = *server_;
    s.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
    // Before any route: a request not addressed to us by name gets nothing.
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        const auto host = req.get_header_value("Host");
        if (hostAllowed(host, req.local_addr, allowedHosts_)) {
            return httplib::Server::HandlerResponse::Unhandled;
        }
        // The Host value itself is not logged: it is the client's text.
        spdlog::info("HTTP_HOST_REFUSED client={} host_bytes={}", req.remote_addr, host.size());
        res.status = 421;
        res.set_content("421 misdirected request: Host is not this server\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
    });
    s.Get("/", [this](const httplib::Request& req, httplib::Response& res) {
        std::string initial = "{\"clients\":" + backend_.clientsJson();
        if (req.has_param("client")) {
            if (auto c = backend_.clientJson(req.get_param_value("client"))) {
                initial += ",\"selected\":" + *c;
            }
        }
        initial += "}";
        std::string html(dashboardHtml());
        const auto pos = html.find(kInitialDataMarker);
        if (pos != std::string::npos) {
            html.replace(pos, kInitialDataMarker.size(), scriptSafe(initial));
        }
        res.set_content(html, "text/html; charset=utf-8");
    });
    s.Get("/dashboard.js", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(dashboardJs()), "application/javascript; charset=utf-8");
    });
    s.Get("/dashboard.css", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(dashboardCss()), "text/css; charset=utf-8");
    });
    s.Get("/api/v1/clients", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(backend_.clientsJson(), "application/json");
    });
    s.Get(R"(/api/v1/clients/([A-Za-z0-9:.\-]{1,64}))",
          [this](const httplib::Request& req, httplib::Response& res) {
              if (auto c = backend_.clientJson(req.matches[1])) {
                  res.set_content(*c, "application/json");
              } else {
                  res.status = 404;
                  res.set_content("{\"error\":\"no such client\"}", "application/json");
              }
          });
    s.Get("/api/v1/boots", [this](const httplib::Request& req, httplib::Response& res) {
        // 1000 boots is ~2 MB of JSON: enough for any screen, bounded for the server.
        const auto limit = parseLimit(req, 100, 1000);
        const auto client = req.has_param("client") ? req.get_param_value("client") : "";
        res.set_content(backend_.bootsJson(limit, client), "application/json");
    });
    s.Get("/api/v1/events", [this](const httplib::Request&, httplib::Response& res) {
        auto sub = hub_.subscribe();
        if (!sub) {
            res.status = 503;
            res.set_content("too many event subscribers\n", "text/plain");
            return;
        }
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider(
            "text/event-stream",
            [sub, first = true](std::size_t, httplib::DataSink& sink) mutable {
                if (first) {
                    first = false;
                    // retry: tells EventSource how soon to reconnect (ms).
                    const std::string hello = "retry: 2000\n: pinetboot events\n\n";
                    return sink.write(hello.data(), hello.size());
                }
                // Wake every second so a server stop is noticed quickly; send a
                // comment every ~15 s so proxies keep the stream open.
                for (int i = 0; i < 15; ++i) {
                    auto msg = sub->next(std::chrono::milliseconds(1000));
                    if (msg && msg->empty()) {
                        sink.done();
                        return true;
                    }
                    if (msg) {
                        return sink.write(msg->data(), msg->size());
                    }
                    if (!sink.is_writable()) {
                        return false;
                    }
                }
                static const std::string keep = ": keep-alive\n\n";
                return sink.write(keep.data(), keep.size());
            },
            [this, sub](bool) { hub_.unsubscribe(sub); });
    });
    s.Get("/api/v1/admission", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(backend_.admissionJson(), "application/json");
    });
    fleetRoutes();
    s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(backend_.metricsText(), "text/plain; version=0.0.4; charset=utf-8");
    });
    s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
        std::string reason;
        if (backend_.healthy(reason)) {
            res.set_content("ok\n", "text/plain");
        } else {
            res.status = 503;
            res.set_content(reason + "\n", "text/plain");
        }
    });
    s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (res.body.empty()) {
            res.set_content(std::to_string(res.status) + "\n", "text/plain");
        }
    });
    s.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "unknown";
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            spdlog::warn("HTTP_HANDLER_ERROR path={} error={}", req.path, what);
            res.status = 500;
            res.set_content("internal error\n", "text/plain");
        });
}

// ---- images and doctor (issue 16): the read side of the fleet

std::string apiErrorJson(const ApiError& error) {
    return app::dumpJson(
        nlohmann::json{{"error", {{"code", error.code}, {"message", error.message}}}});
}

void WebServer::fleetRoutes() {
    auto send = [](httplib::Response& res, const ApiResult<std::string>& r) {
        if (r) {
            res.set_content(*r, "application/json");
            return;
        }
        res.status = r.error().status;
        res.set_content(apiErrorJson(r.error()), "application/json");
    };
    auto unavailable = [](const char* what) {
        return ApiError{404, "not_available",
                        std::string(what) +
                            " are not available: this server has no state "
                            "directory reader"};
    };
    server_->Get("/dashboard-fleet.js", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(dashboardFleetJs()), "application/javascript; charset=utf-8");
    });
    server_->Get("/api/v1/images",
                 [this, send, unavailable](const httplib::Request&, httplib::Response& res) {
                     send(res, fleet_ != nullptr
                                   ? fleet_->imagesJson()
                                   : ApiResult<std::string>(tl::unexpected(unavailable("images"))));
                 });
    server_->Get("/api/v1/doctor", [this, send, unavailable](const httplib::Request&,
                                                             httplib::Response& res) {
        send(res, fleet_ != nullptr
                      ? fleet_->doctorJson()
                      : ApiResult<std::string>(tl::unexpected(unavailable("doctor findings"))));
    });
}

void WebServer::start(const std::string& host, std::uint16_t port) {
    int bound = 0;
    if (port == 0) {
        bound = server_->bind_to_any_port(host);
    } else {
        bound = server_->bind_to_port(host, port) ? port : -1;
    }
    if (bound <= 0) {
        throw std::runtime_error("http: cannot listen on " + host + ":" + std::to_string(port) +
                                 " (address in use or not local?)");
    }
    port_ = static_cast<std::uint16_t>(bound);
    allowedHosts_.push_back(lowerAscii(host));  // the listen address, as written
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // stop() before the loop runs would be lost (httplib only stops a running
    // server): wait until it runs, bounded.
    for (int i = 0; i < 500 && !server_->is_running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void WebServer::stop() {
    if (thread_.joinable()) {
        hub_.closeAll();
        server_->stop();
        thread_.join();
    }
}

}  // namespace pinet::app::http
