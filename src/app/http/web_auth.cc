#include "app/http/web_auth.h"

#include "io/crypto.h"

namespace pinet::app::http {

using core::http::constantTimeEqual;

namespace {
/// Session ids and CSRF tokens: 32 random bytes each, like the token.
constexpr std::size_t kIdBytes = 32;
}  // namespace

WebAuth::WebAuth(std::string token, core::http::SessionLimits sessions,
                 core::http::LimiterConfig limiter, Clock clock)
    : token_(std::move(token)), sessions_(sessions), limiter_(limiter), clock_(std::move(clock)) {}

core::http::AuthClock::time_point WebAuth::now() const {
    return clock_ ? clock_() : core::http::AuthClock::now();
}

void WebAuth::setToken(std::string token) {
    std::lock_guard lock(mutex_);
    if (token == token_) {
        return;
    }
    token_ = std::move(token);
    sessions_.clear();
}

SignInResult WebAuth::signIn(std::string_view token, const std::string& remote) {
    SignInResult r;
    const auto t = now();
    std::lock_guard lock(mutex_);
    if (token_.empty()) {
        r.kind = SignInResult::Kind::NotConfigured;
        return r;
    }
    if (auto wait = limiter_.retryAfter(remote, t)) {
        r.kind = SignInResult::Kind::RateLimited;
        r.retryAfter = *wait;
        return r;
    }
    if (!constantTimeEqual(token, token_)) {
        limiter_.failed(remote, t);
        r.kind = SignInResult::Kind::WrongToken;
        return r;
    }
    auto id = io::randomHex(kIdBytes);
    auto csrf = io::randomHex(kIdBytes);
    if (!id || !csrf) {
        r.kind = SignInResult::Kind::Failed;
        r.error = !id ? id.error().message : csrf.error().message;
        return r;
    }
    sessions_.add(*id, *csrf, t);
    r.kind = SignInResult::Kind::Ok;
    r.sessionId = std::move(*id);
    r.csrf = std::move(*csrf);
    r.maxAge = sessions_.limits().absolute;
    return r;
}

void WebAuth::signOut(std::string_view cookieHeader) {
    if (auto id = core::http::cookieValue(cookieHeader, kSessionCookie)) {
        std::lock_guard lock(mutex_);
        sessions_.remove(*id);
    }
}

std::optional<std::string> WebAuth::csrfOf(std::string_view cookieHeader) {
    auto id = core::http::cookieValue(cookieHeader, kSessionCookie);
    if (!id) {
        return std::nullopt;
    }
    const auto t = now();
    std::lock_guard lock(mutex_);
    if (auto s = sessions_.use(*id, t)) {
        return s->csrf;
    }
    return std::nullopt;
}

AuthDecision WebAuth::check(std::string_view authorization, std::string_view cookieHeader,
                            std::string_view csrfHeader, bool write, const std::string& remote) {
    AuthDecision d;
    const auto t = now();
    std::lock_guard lock(mutex_);
    if (token_.empty()) {
        d.kind = AuthDecision::Kind::NotConfigured;
        return d;
    }
    if (!authorization.empty()) {
        // An Authorization header decides alone: a wrong one is not rescued by a cookie.
        if (auto wait = limiter_.retryAfter(remote, t)) {
            d.kind = AuthDecision::Kind::RateLimited;
            d.retryAfter = *wait;
            return d;
        }
        auto bearer = core::http::bearerToken(authorization);
        if (!bearer || !constantTimeEqual(*bearer, token_)) {
            limiter_.failed(remote, t);
            d.kind = AuthDecision::Kind::BadToken;
            return d;
        }
        d.kind = AuthDecision::Kind::Allowed;
        d.via = "bearer";
        return d;
    }
    if (auto id = core::http::cookieValue(cookieHeader, kSessionCookie)) {
        if (auto s = sessions_.use(*id, t)) {
            // SameSite=Strict already keeps other sites' requests from carrying the
            // cookie; the CSRF token is the second lock (older browsers, same-site
            // pages on other ports): only the page that signed in knows it.
            if (write && (csrfHeader.empty() || !constantTimeEqual(csrfHeader, s->csrf))) {
                d.kind = AuthDecision::Kind::CsrfMissing;
                return d;
            }
            d.kind = AuthDecision::Kind::Allowed;
            d.via = "session";
            return d;
        }
    }
    d.kind = AuthDecision::Kind::NoCredential;
    return d;
}

}  // namespace pinet::app::http
