#pragma once
// The dashboard's authentication policy, pure (docs/api.md, "Authentication"):
// the token comparison, the Authorization/Cookie header parsing, the table of
// browser sessions with their expiry, and the sign-in rate limiter. Time is
// passed in (steady clock), so every rule is unit-tested without sleeping;
// random bytes come from the caller (io::randomBytes).

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pinet::core::http {

using AuthClock = std::chrono::steady_clock;

/// Equal strings, in a time that depends only on the lengths: a byte-by-byte
/// early exit would tell a remote caller how many leading bytes of a guess match.
bool constantTimeEqual(std::string_view a, std::string_view b);

/// The token of an `Authorization: Bearer TOKEN` header (RFC 6750 2.1; the
/// scheme is case-insensitive, RFC 7235 2.1); nullopt for any other header.
std::optional<std::string_view> bearerToken(std::string_view authorization);

/// The value of cookie @p name in a `Cookie:` header (RFC 6265 5.4: `a=b; c=d`),
/// nullopt when absent.
std::optional<std::string_view> cookieValue(std::string_view cookieHeader, std::string_view name);

/// A signed-in browser: its session id (the cookie) and its CSRF token.
struct Session {
    std::string id;
    std::string csrf;
    AuthClock::time_point created;
    AuthClock::time_point lastUsed;
};

struct SessionLimits {
    /// A session nobody used for 8 hours (a working day) is gone.
    std::chrono::seconds idle{8 * 3600};
    /// And any session after 24 hours, used or not: a stolen cookie stops working.
    std::chrono::seconds absolute{24 * 3600};
    /// 64 browsers signed in at once is far more than the people who run one
    /// boot server; bounded so that sign-ins cannot grow memory. The least
    /// recently used session makes room.
    std::size_t maxSessions = 64;
};

/// The browser sessions. Not thread-safe (app::http::WebAuth holds the lock).
class SessionTable {
public:
    explicit SessionTable(SessionLimits limits = {}) : limits_(limits) {}

    /// Adds a session (ids come from a CSPRNG, so they do not collide).
    void add(std::string id, std::string csrf, AuthClock::time_point now);
    /// The live session with cookie @p id (compared in constant time), its last
    /// use set to @p now; nullopt when unknown or expired (an expired one is dropped).
    std::optional<Session> use(std::string_view id, AuthClock::time_point now);
    void remove(std::string_view id);
    /// Every session ends (the token was rotated).
    void clear() { sessions_.clear(); }
    std::size_t size() const { return sessions_.size(); }
    const SessionLimits& limits() const { return limits_; }

private:
    bool expired(const Session& s, AuthClock::time_point now) const;

    SessionLimits limits_;
    std::map<std::string, Session, std::less<>> sessions_;
};

struct LimiterConfig {
    /// 5 wrong tokens in a row are allowed at once: a person mistyping or pasting
    /// the wrong line; then one more every 12 s (5 a minute). The token is 256
    /// random bits, so guessing is hopeless anyway: the limit keeps a flood of
    /// attempts from costing the server work and log lines.
    double burst = 5;
    std::chrono::seconds refillEvery{12};
    /// Source addresses remembered; past it the fullest bucket (the address that
    /// failed longest ago) is forgotten. 1024 x ~100 bytes.
    std::size_t maxAddresses = 1024;
};

/// Failed sign-ins (and wrong bearer tokens) per source address: a token bucket.
/// Only failures take a token; while an address's bucket is empty every attempt
/// from it is refused, the right token too (else a guesser would keep going).
class SignInLimiter {
public:
    explicit SignInLimiter(LimiterConfig cfg = {}) : cfg_(cfg) {}

    /// nullopt: the address may try now; else the seconds until it may (Retry-After).
    std::optional<std::chrono::seconds> retryAfter(const std::string& address,
                                                   AuthClock::time_point now);
    /// A wrong token from @p address.
    void failed(const std::string& address, AuthClock::time_point now);
    std::size_t addresses() const { return buckets_.size(); }

private:
    struct Bucket {
        double tokens;
        AuthClock::time_point updated;
    };
    void refill(Bucket& b, AuthClock::time_point now) const;

    LimiterConfig cfg_;
    std::map<std::string, Bucket> buckets_;
};

}  // namespace pinet::core::http
