// The dashboard's authentication over real HTTP on loopback: WebServer with
// WebAuth and a recording ClientAdmin. Writes without a credential, with a
// wrong bearer token, with a cookie but no CSRF token; the sign-in cookie's
// attributes; the sign-in rate limit (429 + Retry-After); reads behind the
// token when the listener is beyond loopback; token rotation.

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/http/api_write.h"
#include "app/http/web_auth.h"
#include "app/http/web_server.h"
#include "app/serve/boot_monitor.h"

using namespace pinet;
using json = nlohmann::json;

namespace {

const std::string kToken(64, 'a');

/// Records what reached it: the web server must call it only with a credential.
/// (Called on the server's worker threads, read by the test: under a lock.)
class RecordingAdmin final : public app::http::ClientAdmin {
public:
    std::string lastCall() {
        std::lock_guard lock(mutex_);
        return last_;
    }
    app::http::ApiReply enrol(const app::http::EnrolBody& b) override {
        ++calls;
        record("enrol " + b.request.serial);
        return {201, R"({"client":{"serial":")" + b.request.serial + R"("}})"};
    }
    app::http::ApiReply change(const app::http::PatchBody& b) override {
        ++calls;
        record("change " + b.request.serial + " " + b.request.name.value_or("-"));
        return {200, "{}"};
    }
    app::http::ApiReply reset(const std::string& serial, bool) override {
        ++calls;
        record("reset " + serial);
        return {200, "{}"};
    }
    app::http::ApiReply remove(const std::string& serial, app::RootDisposal root, bool) override {
        ++calls;
        record("remove " + serial + (root == app::RootDisposal::Delete ? " delete" : " refuse"));
        return {200, "{}"};
    }
    app::http::ApiReply removeImage(const std::string& name) override {
        ++calls;
        record("remove image " + name);
        return {200, "{}"};
    }
    std::atomic<int> calls{0};

private:
    void record(std::string what) {
        std::lock_guard lock(mutex_);
        last_ = std::move(what);
    }
    std::mutex mutex_;
    std::string last_;
};

struct Fixture {
    explicit Fixture(bool remote) : auth(kToken), web(monitor, monitor.hub()) {
        monitor.start();
        app::serve::KnownClient c;
        c.serial = "cafe0001";
        c.name = "secret-board";
        monitor.setKnownClients({c});
        web.setAuth(&auth, remote);
        web.setClientAdmin(&admin);
        web.start("127.0.0.1", 0);
    }
    ~Fixture() {
        web.stop();
        monitor.stop();
    }
    httplib::Client client() { return httplib::Client("127.0.0.1", web.port()); }

    app::serve::BootMonitor monitor;
    app::http::WebAuth auth;
    RecordingAdmin admin;
    app::http::WebServer web;
};

std::string code(const httplib::Result& r) {
    auto j = json::parse(r->body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"]["code"].get<std::string>() : "";
}

httplib::Headers bearer(const std::string& t) {
    return {{"Authorization", "Bearer " + t}};
}

/// Signs in; returns the cookie ("pinetboot_session=...") and the CSRF token.
std::pair<std::string, std::string> signIn(httplib::Client& c, const std::string& token) {
    auto r = c.Post("/api/v1/session", json{{"token", token}}.dump(), "application/json");
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    const auto set = r->get_header_value("Set-Cookie");
    const auto cookie = set.substr(0, set.find(';'));
    return {cookie, json::parse(r->body)["csrf"].get<std::string>()};
}

}  // namespace

TEST(WebAuth, WritesNeedABearerTokenOrASessionWithItsCsrfToken) {
    Fixture f(false);
    auto c = f.client();
    const std::string body = R"({"serial":"9ffefdef","image":"os"})";

    // Loopback: reads are open, writes are not.
    auto r = c.Get("/api/v1/clients");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    r = c.Post("/api/v1/clients", body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(code(r), "unauthenticated");
    EXPECT_NE(r->get_header_value("WWW-Authenticate").find("Bearer"), std::string::npos);
    for (auto* path : {"/api/v1/clients/9ffefdef"}) {
        EXPECT_EQ(c.Delete(path)->status, 401);
        EXPECT_EQ(c.Patch(path, "{}", "application/json")->status, 401);
    }
    EXPECT_EQ(c.Post("/api/v1/clients/9ffefdef/reset", "", "application/json")->status, 401);
    EXPECT_EQ(c.Delete("/api/v1/images/os")->status, 401);
    r = c.Post("/api/v1/clients", bearer(std::string(64, 'b')), body, "application/json");
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(code(r), "invalid_token");
    EXPECT_EQ(f.admin.calls, 0);

    // The bearer token.
    r = c.Post("/api/v1/clients", bearer(kToken), body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201) << r->body;
    EXPECT_EQ(f.admin.lastCall(), "enrol 9ffefdef");
    r = c.Delete("/api/v1/clients/9ffefdef?root=delete", bearer(kToken));
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(f.admin.lastCall(), "remove 9ffefdef delete");
    EXPECT_EQ(c.Delete("/api/v1/clients/9ffefdef?root=maybe", bearer(kToken))->status, 400);
    EXPECT_EQ(c.Delete("/api/v1/images/os", bearer(kToken))->status, 200);
    EXPECT_EQ(f.admin.lastCall(), "remove image os");

    // The browser: a wrong token is refused; the right one gives the cookie.
    r = c.Post("/api/v1/session", R"({"token":"nope"})", "application/json");
    EXPECT_EQ(r->status, 401);
    EXPECT_TRUE(r->get_header_value("Set-Cookie").empty());
    r = c.Post("/api/v1/session", json{{"token", kToken}}.dump(), "application/json");
    ASSERT_EQ(r->status, 200);
    const auto set = r->get_header_value("Set-Cookie");
    EXPECT_EQ(set.rfind("pinetboot_session=", 0), 0u) << set;
    EXPECT_NE(set.find("; HttpOnly"), std::string::npos) << set;
    EXPECT_NE(set.find("; SameSite=Strict"), std::string::npos) << set;
    EXPECT_EQ(set.find("Secure"), std::string::npos) << "no Secure on plain HTTP: " << set;
    const auto cookie = set.substr(0, set.find(';'));
    const auto csrf = json::parse(r->body)["csrf"].get<std::string>();
    EXPECT_EQ(csrf.size(), 64u);
    EXPECT_EQ(cookie.find(csrf), std::string::npos) << "the CSRF token is not the cookie";

    const int before = f.admin.calls;
    // Cookie without the CSRF token, or with a wrong one: 403, nothing done.
    r = c.Patch("/api/v1/clients/9ffefdef", {{"Cookie", cookie}}, R"({"name":"x"})",
                "application/json");
    EXPECT_EQ(r->status, 403);
    EXPECT_EQ(code(r), "csrf_token_missing");
    r = c.Patch("/api/v1/clients/9ffefdef", {{"Cookie", cookie}, {"X-CSRF-Token", kToken}},
                R"({"name":"x"})", "application/json");
    EXPECT_EQ(r->status, 403);
    EXPECT_EQ(f.admin.calls, before);
    // With it: done.
    r = c.Patch("/api/v1/clients/9ffefdef", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}},
                R"({"name":"x"})", "application/json");
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(f.admin.lastCall(), "change 9ffefdef x");
    // A forged cookie is nobody.
    r = c.Post("/api/v1/clients/9ffefdef/reset",
               {{"Cookie", "pinetboot_session=" + std::string(64, '0')}, {"X-CSRF-Token", csrf}},
               "", "application/json");
    EXPECT_EQ(r->status, 401);

    // The page re-reads its CSRF token after a reload.
    r = c.Get("/api/v1/session", {{"Cookie", cookie}});
    auto j = json::parse(r->body);
    EXPECT_EQ(j["signed_in"], true);
    EXPECT_EQ(j["csrf"], csrf);
    EXPECT_EQ(json::parse(c.Get("/api/v1/session")->body)["signed_in"], false);

    // Signing out ends the session.
    EXPECT_EQ(c.Delete("/api/v1/session", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}})->status,
              200);
    r = c.Post("/api/v1/clients/9ffefdef/reset", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}, "",
               "application/json");
    EXPECT_EQ(r->status, 401);
}

TEST(WebAuth, SignInIsRateLimitedPerAddress) {
    Fixture f(false);
    auto c = f.client();
    int refusedWith401 = 0;
    for (int i = 0; i < 10; ++i) {
        auto r = c.Post("/api/v1/session", json{{"token", std::string(64, 'c')}}.dump(),
                        "application/json");
        ASSERT_TRUE(r);
        if (r->status != 401) {
            EXPECT_EQ(r->status, 429);
            EXPECT_EQ(code(r), "rate_limited");
            EXPECT_EQ(r->get_header_value("Retry-After"), "12");
            break;
        }
        ++refusedWith401;
    }
    EXPECT_EQ(refusedWith401, 5);
    // The right token is refused too while the address is limited, by sign-in or bearer.
    auto r = c.Post("/api/v1/session", json{{"token", kToken}}.dump(), "application/json");
    EXPECT_EQ(r->status, 429);
    r = c.Post("/api/v1/clients", bearer(kToken), "{}", "application/json");
    EXPECT_EQ(r->status, 429);
    EXPECT_EQ(f.admin.calls, 0);
}

TEST(WebAuth, BeyondLoopbackReadsNeedTheTokenToo) {
    Fixture f(true);
    auto c = f.client();
    auto r = c.Get("/api/v1/clients");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(c.Get("/api/v1/boots")->status, 401);
    EXPECT_EQ(c.Get("/metrics")->status, 401);
    EXPECT_EQ(c.Get("/api/v1/events")->status, 401);
    // The page's shell comes, without the fleet in it.
    r = c.Get("/");
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->body.find("secret-board"), std::string::npos);
    EXPECT_NE(r->body.find("\"reads_need_sign_in\":true"), std::string::npos);
    EXPECT_EQ(c.Get("/dashboard.js")->status, 200);
    EXPECT_EQ(c.Get("/healthz")->status, 200);
    // With the token, or signed in: everything.
    r = c.Get("/api/v1/clients", bearer(kToken));
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->body.find("secret-board"), std::string::npos);
    auto [cookie, csrf] = signIn(c, kToken);
    r = c.Get("/", {{"Cookie", cookie}});
    EXPECT_NE(r->body.find("secret-board"), std::string::npos);
    EXPECT_EQ(c.Get("/api/v1/clients", {{"Cookie", cookie}})->status, 200);
}

TEST(WebAuth, ARotatedTokenEndsTheOldOneAndItsSessions) {
    Fixture f(false);
    auto c = f.client();
    auto [cookie, csrf] = signIn(c, kToken);
    const httplib::Headers withCookie{{"Cookie", cookie}, {"X-CSRF-Token", csrf}};
    EXPECT_EQ(c.Post("/api/v1/clients/9ffefdef/reset", withCookie, "", "application/json")->status,
              200);
    const std::string next(64, 'd');
    f.auth.setToken(next);
    EXPECT_EQ(c.Post("/api/v1/clients/9ffefdef/reset", withCookie, "", "application/json")->status,
              401);
    EXPECT_EQ(
        c.Post("/api/v1/clients/9ffefdef/reset", bearer(kToken), "", "application/json")->status,
        401);
    EXPECT_EQ(
        c.Post("/api/v1/clients/9ffefdef/reset", bearer(next), "", "application/json")->status,
        200);
}
