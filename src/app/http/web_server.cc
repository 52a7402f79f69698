#include "app/http/web_server.h"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "app/http/api_write.h"
#include "app/http/dashboard.h"
#include "app/http/web_auth.h"
#include "app/json_text.h"
#include "proto/text/safe_text.h"

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
    routes();
}

WebServer::WebServer(WebBackend& backend, EventHub& hub, const TlsFiles& tls)
    : backend_(backend), hub_(hub), tls_(true) {
    auto ssl = std::make_unique<httplib::SSLServer>(tls.cert.c_str(), tls.key.c_str());
    if (!ssl->is_valid()) {
        throw std::runtime_error(
            "http: cannot use the TLS certificate " + tls.cert + " with the key " + tls.key +
            " (missing, unreadable, not PEM, or the key does not belong to the certificate); "
            "fix [http] tls_cert and tls_key");
    }
    server_ = std::move(ssl);
    routes();
}

void WebServer::setAuth(WebAuth* auth, bool readsNeedCredential) {
    auth_ = auth;
    readsNeedCredential_ = readsNeedCredential;
}

void WebServer::routes() {
    server_->new_task_queue = [] {
        return new httplib::ThreadPool(kWorkerThreads);
    };
    // Slow or silent clients must not hold workers for long.
    server_->set_read_timeout(10, 0);
    server_->set_write_timeout(10, 0);
    // Bodies are small JSON (api_write.h kMaxWriteBody checks 16 KiB and says so);
    // past 64 KiB httplib refuses before reading, with 413.
    server_->set_payload_max_length(64 * 1024);
    plainRoutes();
    writeRoutes();
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

void WebServer::plainRoutes() {
    auto& s = *server_;
    s.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
    // Before any route: a request not addressed to us by name gets nothing.
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        const auto host = req.get_header_value("Host");
        if (hostAllowed(host, req.local_addr, allowedHosts_)) {
            return gate(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                  : httplib::Server::HandlerResponse::Handled;
        }
        // The Host value itself is not logged: it is the client's text.
        spdlog::info("HTTP_HOST_REFUSED client={} host_bytes={}", req.remote_addr, host.size());
        res.status = 421;
        res.set_content("421 misdirected request: Host is not this server\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
    });
    s.Get("/", [this](const httplib::Request& req, httplib::Response& res) {
        const bool signedIn = credentialOf(req, false).kind == AuthDecision::Kind::Allowed;
        std::string initial =
            "{\"auth\":{\"signed_in\":" + std::string(signedIn ? "true" : "false") +
            ",\"reads_need_sign_in\":" + std::string(readsNeedCredential_ ? "true" : "false") + "}";
        if (readsNeedCredential_ && !signedIn) {
            // The shell and the sign-in form only: the fleet is not shown to strangers.
            initial += ",\"clients\":{\"clients\":[]}";
        } else {
            initial += ",\"clients\":" + backend_.clientsJson();
        }
        if ((!readsNeedCredential_ || signedIn) && req.has_param("client")) {
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
    s.Get("/dashboard-admin.js", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(dashboardAdminJs()), "application/javascript; charset=utf-8");
    });
    s.Get("/dashboard-admin.css", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(dashboardAdminCss()), "text/css; charset=utf-8");
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
                  res.set_content(errorJson("no_such_client", "no such client (serial, MAC or IP)"),
                                  "application/json");
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
            // Healthy with a reason is degraded: still serving, but something to fix.
            res.set_content(reason.empty() ? std::string("ok\n") : reason + "\n", "text/plain");
        } else {
            res.status = 503;
            res.set_content(reason + "\n", "text/plain");
        }
    });
    s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (res.body.empty() && res.status == 413) {
            res.set_content(errorJson("body_too_large", "the body is larger than 64 KiB"),
                            "application/json");
        } else if (res.body.empty()) {
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
    server_->Get("/api/v1/nodes", [this, send](const httplib::Request&, httplib::Response& res) {
        send(res, nodes_ != nullptr
                      ? ApiResult<std::string>(nodes_->nodesJson())
                      : ApiResult<std::string>(tl::unexpected(ApiError{404, "not_available",
                                                                       "nodes are not available: "
                                                                       "this server has no node "
                                                                       "thread"})));
    });
    server_->Get("/api/v1/nodes/boots", [this, send](const httplib::Request& req,
                                                     httplib::Response& res) {
        // The node thread keeps the newest 500 boots of every node.
        const auto limit = parseLimit(req, 100, 500);
        send(res, nodes_ != nullptr
                      ? ApiResult<std::string>(nodes_->nodeBootsJson(limit))
                      : ApiResult<std::string>(tl::unexpected(ApiError{404, "not_available",
                                                                       "node boots are not "
                                                                       "available: this server has "
                                                                       "no node thread"})));
    });
    server_->Get("/api/v1/doctor", [this, send, unavailable](const httplib::Request&,
                                                             httplib::Response& res) {
        send(res, fleet_ != nullptr
                      ? fleet_->doctorJson()
                      : ApiResult<std::string>(tl::unexpected(unavailable("doctor findings"))));
    });
}

AuthDecision WebServer::credentialOf(const httplib::Request& req, bool write) {
    if (auth_ == nullptr) {
        AuthDecision d;
        d.kind = AuthDecision::Kind::NotConfigured;
        return d;
    }
    return auth_->check(req.get_header_value("Authorization"), req.get_header_value("Cookie"),
                        req.get_header_value(std::string(kCsrfHeader).c_str()), write,
                        req.remote_addr);
}

namespace {

void refuse(httplib::Response& res, const AuthDecision& d) {
    switch (d.kind) {
        case AuthDecision::Kind::Allowed: return;
        case AuthDecision::Kind::NoCredential:
            res.status = 401;
            res.set_header("WWW-Authenticate", "Bearer realm=\"pinetboot\"");
            res.set_content(errorJson("unauthenticated",
                                      "sign in (POST /api/v1/session with the token) or send "
                                      "Authorization: Bearer TOKEN; the token: pinetboot token "
                                      "show on the server"),
                            "application/json");
            return;
        case AuthDecision::Kind::BadToken:
            res.status = 401;
            res.set_header("WWW-Authenticate",
                           "Bearer realm=\"pinetboot\", error=\"invalid_token\"");
            res.set_content(errorJson("invalid_token",
                                      "the bearer token is wrong (pinetboot token show on the "
                                      "server prints the current one)"),
                            "application/json");
            return;
        case AuthDecision::Kind::CsrfMissing:
            res.status = 403;
            res.set_content(errorJson("csrf_token_missing",
                                      std::string("a write with the session cookie needs the "
                                                  "session's CSRF token in the ") +
                                          std::string(kCsrfHeader) +
                                          " header (POST or GET /api/v1/session returns it)"),
                            "application/json");
            return;
        case AuthDecision::Kind::RateLimited:
            res.status = 429;
            res.set_header("Retry-After", std::to_string(d.retryAfter.count()));
            res.set_content(
                errorJson("rate_limited", "too many wrong tokens from this address; try again in " +
                                              std::to_string(d.retryAfter.count()) + " s"),
                "application/json");
            return;
        case AuthDecision::Kind::NotConfigured:
            res.status = 503;
            res.set_content(errorJson("auth_not_configured",
                                      "this server has no API token loaded, so it takes no "
                                      "writes (serve's log says why)"),
                            "application/json");
            return;
    }
}

std::string_view kindName(AuthDecision::Kind k) {
    switch (k) {
        case AuthDecision::Kind::Allowed: return "allowed";
        case AuthDecision::Kind::NoCredential: return "no_credential";
        case AuthDecision::Kind::BadToken: return "invalid_token";
        case AuthDecision::Kind::CsrfMissing: return "csrf_token_missing";
        case AuthDecision::Kind::RateLimited: return "rate_limited";
        case AuthDecision::Kind::NotConfigured: return "not_configured";
    }
    return "?";
}

}  // namespace

bool WebServer::gate(const httplib::Request& req, httplib::Response& res) {
    const bool write = req.method != "GET" && req.method != "HEAD";
    // Open: the page's shell (it shows the fleet only to the signed in, see GET /), its
    // assets, signing in and asking whether one is, and the health probe (systemd,
    // load balancers; it says "ok" or which part is down, nothing about the fleet).
    const bool open =
        (!write && (req.path == "/" || req.path == "/dashboard.js" ||
                    req.path == "/dashboard.css" || req.path == "/dashboard-admin.js" ||
                    req.path == "/dashboard-admin.css" || req.path == "/dashboard-fleet.js" ||
                    req.path == "/healthz" || req.path == "/api/v1/session")) ||
        (req.method == "POST" && req.path == "/api/v1/session");
    if (open || (!write && !readsNeedCredential_)) {
        return true;
    }
    const auto d = credentialOf(req, write);
    if (d.kind == AuthDecision::Kind::Allowed) {
        return true;
    }
    spdlog::info("HTTP_AUTH_REFUSED client={} method={} reason={}", req.remote_addr,
                 proto::text::safeText(req.method, 16), kindName(d.kind));
    refuse(res, d);
    return false;
}

void WebServer::writeRoutes() {
    auto& s = *server_;
    s.Post("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
        if (auth_ == nullptr) {
            AuthDecision d;
            d.kind = AuthDecision::Kind::NotConfigured;
            refuse(res, d);
            return;
        }
        if (req.body.size() > kMaxWriteBody) {
            res.status = 413;
            res.set_content(errorJson("body_too_large", "the sign-in body is too large"),
                            "application/json");
            return;
        }
        const auto j = nlohmann::json::parse(req.body, nullptr, false);
        if (!j.is_object() || !j.contains("token") || !j["token"].is_string()) {
            res.status = 400;
            res.set_content(errorJson("invalid_request", "the body must be {\"token\":\"...\"}"),
                            "application/json");
            return;
        }
        const auto r = auth_->signIn(j["token"].get<std::string>(), req.remote_addr);
        switch (r.kind) {
            case SignInResult::Kind::Ok: {
                std::string cookie = std::string(kSessionCookie) + "=" + r.sessionId +
                                     "; Path=/; Max-Age=" + std::to_string(r.maxAge.count()) +
                                     "; HttpOnly; SameSite=Strict";
                if (tls_) {
                    cookie += "; Secure";
                }
                res.set_header("Set-Cookie", cookie);
                res.set_content(
                    dumpJson(
                        {{"signed_in", true}, {"csrf", r.csrf}, {"expires_in", r.maxAge.count()}}),
                    "application/json");
                spdlog::info("HTTP_SIGN_IN client={}", req.remote_addr);
                return;
            }
            case SignInResult::Kind::WrongToken: {
                AuthDecision d;
                d.kind = AuthDecision::Kind::BadToken;
                refuse(res, d);
                res.set_content(
                    errorJson("invalid_token", "wrong token (pinetboot token show on the server)"),
                    "application/json");
                spdlog::info("HTTP_SIGN_IN_FAILED client={} reason=invalid_token", req.remote_addr);
                return;
            }
            case SignInResult::Kind::RateLimited: {
                AuthDecision d;
                d.kind = AuthDecision::Kind::RateLimited;
                d.retryAfter = r.retryAfter;
                refuse(res, d);
                return;
            }
            case SignInResult::Kind::NotConfigured: {
                AuthDecision d;
                d.kind = AuthDecision::Kind::NotConfigured;
                refuse(res, d);
                return;
            }
            case SignInResult::Kind::Failed:
                res.status = 500;
                res.set_content(errorJson("failed", r.error), "application/json");
                return;
        }
    });
    s.Get("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
        nlohmann::json j{{"signed_in", false},
                         {"reads_need_sign_in", readsNeedCredential_},
                         {"writes_available", admin_ != nullptr}};
        if (auth_ != nullptr) {
            if (auto csrf = auth_->csrfOf(req.get_header_value("Cookie"))) {
                j["signed_in"] = true;
                j["via"] = "session";
                j["csrf"] = *csrf;
            } else if (credentialOf(req, false).kind == AuthDecision::Kind::Allowed) {
                j["signed_in"] = true;
                j["via"] = "bearer";
            }
        }
        res.set_content(dumpJson(j), "application/json");
    });
    s.Delete("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
        if (auth_ != nullptr) {
            auth_->signOut(req.get_header_value("Cookie"));
        }
        res.set_header("Set-Cookie", std::string(kSessionCookie) +
                                         "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
        res.set_content(dumpJson({{"signed_in", false}}), "application/json");
    });

    auto reply = [](httplib::Response& res, const ApiReply& r) {
        res.status = r.status;
        res.set_content(r.body, "application/json");
    };
    auto noAdmin = [](httplib::Response& res) {
        res.status = 503;
        res.set_content(errorJson("not_available", "this server takes no client changes"),
                        "application/json");
    };
    s.Post("/api/v1/clients",
           [this, reply, noAdmin](const httplib::Request& req, httplib::Response& res) {
               if (admin_ == nullptr) {
                   return noAdmin(res);
               }
               auto p = parseEnrolBody(req.body);
               reply(res, p.value ? admin_->enrol(*p.value) : p.refusal);
           });
    s.Patch(R"(/api/v1/clients/([^/]{1,64}))",
            [this, reply, noAdmin](const httplib::Request& req, httplib::Response& res) {
                if (admin_ == nullptr) {
                    return noAdmin(res);
                }
                auto p = parsePatchBody(std::string(req.matches[1]), req.body);
                reply(res, p.value ? admin_->change(*p.value) : p.refusal);
            });
    s.Post(R"(/api/v1/clients/([^/]{1,64})/reset)",
           [this, reply, noAdmin](const httplib::Request& req, httplib::Response& res) {
               if (admin_ == nullptr) {
                   return noAdmin(res);
               }
               auto p = parseResetBody(req.body);
               reply(res,
                     p.value ? admin_->reset(std::string(req.matches[1]), *p.value) : p.refusal);
           });
    s.Post("/api/v1/images",
           [this, reply, noAdmin](const httplib::Request& req, httplib::Response& res) {
               if (admin_ == nullptr) {
                   return noAdmin(res);
               }
               auto p = parseImportBody(req.body);
               reply(res, p.value ? admin_->importImage(*p.value) : p.refusal);
           });
    s.Delete(R"(/api/v1/images/([^/]{1,64}))",
             [this, reply, noAdmin](const httplib::Request& req, httplib::Response& res) {
                 if (admin_ == nullptr) {
                     return noAdmin(res);
                 }
                 reply(res, admin_->removeImage(std::string(req.matches[1])));
             });
    s.Delete(R"(/api/v1/clients/([^/]{1,64}))", [this, reply, noAdmin](const httplib::Request& req,
                                                                       httplib::Response& res) {
        if (admin_ == nullptr) {
            return noAdmin(res);
        }
        // A private root holds the board's own files: the caller says what
        // becomes of it (?root=delete|keep), as `client remove` asks.
        RootDisposal root = RootDisposal::Refuse;
        const auto r = req.has_param("root") ? req.get_param_value("root") : "";
        if (r == "delete") {
            root = RootDisposal::Delete;
        } else if (r == "keep") {
            root = RootDisposal::Keep;
        } else if (!r.empty()) {
            return reply(res, errorReply(400, "invalid_request", "root= must be delete or keep"));
        }
        const bool apply =
            !(req.has_param("apply_nfs") && req.get_param_value("apply_nfs") == "false");
        reply(res, admin_->remove(std::string(req.matches[1]), root, apply));
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
