#pragma once
// WebAuth: who may use the dashboard and the API (docs/api.md, "Authentication").
//
//   API clients   Authorization: Bearer TOKEN (the token of <state>/api-token)
//   browsers      POST /api/v1/session {"token":"..."} once: an HttpOnly,
//                 SameSite=Strict session cookie and a CSRF token the page
//                 sends back as X-CSRF-Token on every write
//
// Wrong tokens, by sign-in or bearer, count against the source address
// (core::http::SignInLimiter); past the limit every attempt gets 429. The
// policy is core/http/auth.h; this adds the lock, the random ids and the clock.
// Thread-safe: cpp-httplib calls it from its worker threads.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/http/auth.h"

namespace pinet::app::http {

/// The session cookie's name.
inline constexpr std::string_view kSessionCookie = "pinetboot_session";
/// The header that carries the CSRF token on cookie-authenticated writes.
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

struct AuthDecision {
    enum class Kind {
        Allowed,
        NoCredential,   ///< 401: nothing, or a cookie of no live session
        BadToken,       ///< 401: a wrong bearer token (counted)
        CsrfMissing,    ///< 403: a cookie-authenticated write without its CSRF token
        RateLimited,    ///< 429: too many wrong tokens from this address
        NotConfigured,  ///< 503: no token loaded (serve could not read or make one)
    };
    Kind kind = Kind::NoCredential;
    std::chrono::seconds retryAfter{0};
    /// "bearer" or "session" when allowed (the log says which).
    std::string_view via;
};

struct SignInResult {
    enum class Kind { Ok, WrongToken, RateLimited, NotConfigured, Failed };
    Kind kind = Kind::WrongToken;
    std::string sessionId;  ///< the cookie's value
    std::string csrf;
    std::chrono::seconds retryAfter{0};
    std::chrono::seconds maxAge{0};  ///< the cookie's Max-Age (the session's lifetime)
    std::string error;               ///< Failed: why (no random bytes)
};

class WebAuth {
public:
    using Clock = std::function<core::http::AuthClock::time_point()>;

    explicit WebAuth(std::string token, core::http::SessionLimits sessions = {},
                     core::http::LimiterConfig limiter = {}, Clock clock = {});

    /// A new token (rotation): every session ends. The same token changes nothing.
    void setToken(std::string token);

    /// POST /api/v1/session.
    SignInResult signIn(std::string_view token, const std::string& remote);
    /// DELETE /api/v1/session.
    void signOut(std::string_view cookieHeader);
    /// The CSRF token of the session in @p cookieHeader (GET /api/v1/session), if live.
    std::optional<std::string> csrfOf(std::string_view cookieHeader);

    /// A request's credential. @p write: a method that changes something (needs the
    /// CSRF token when it comes with a cookie).
    AuthDecision check(std::string_view authorization, std::string_view cookieHeader,
                       std::string_view csrfHeader, bool write, const std::string& remote);

private:
    core::http::AuthClock::time_point now() const;

    mutable std::mutex mutex_;
    std::string token_;
    core::http::SessionTable sessions_;
    core::http::SignInLimiter limiter_;
    Clock clock_;
};

}  // namespace pinet::app::http
