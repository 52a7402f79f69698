#include "core/http/auth.h"

#include <algorithm>
#include <cmath>

namespace pinet::core::http {

namespace {

bool isSpace(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && isSpace(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && isSpace(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

bool constantTimeEqual(std::string_view a, std::string_view b) {
    // Every byte of the longer string is visited whatever the contents; only the
    // lengths (which are not secret: every token has the same) decide the time.
    const std::size_t n = std::max(a.size(), b.size());
    unsigned diff = a.size() == b.size() ? 0U : 1U;
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0U;
        const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0U;
        diff |= x ^ y;
    }
    return diff == 0;
}

std::optional<std::string_view> bearerToken(std::string_view authorization) {
    auto h = trim(authorization);
    constexpr std::string_view kScheme = "bearer";
    if (h.size() <= kScheme.size() || !isSpace(h[kScheme.size()])) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        char c = h[i];
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
        if (c != kScheme[i]) {
            return std::nullopt;
        }
    }
    auto token = trim(h.substr(kScheme.size()));
    if (token.empty() || token.find_first_of(" \t") != std::string_view::npos) {
        return std::nullopt;
    }
    return token;
}

std::optional<std::string_view> cookieValue(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const auto semi = header.find(';');
        auto pair = trim(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        if (trim(pair.substr(0, eq)) == name) {
            auto v = trim(pair.substr(eq + 1));
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
                v = v.substr(1, v.size() - 2);
            }
            return v;
        }
    }
    return std::nullopt;
}

bool SessionTable::expired(const Session& s, AuthClock::time_point now) const {
    return now - s.lastUsed >= limits_.idle || now - s.created >= limits_.absolute;
}

void SessionTable::add(std::string id, std::string csrf, AuthClock::time_point now) {
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        it = expired(it->second, now) ? sessions_.erase(it) : std::next(it);
    }
    while (limits_.maxSessions > 0 && sessions_.size() >= limits_.maxSessions) {
        auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
            return a.second.lastUsed < b.second.lastUsed;
        });
        sessions_.erase(oldest);
    }
    Session s{id, std::move(csrf), now, now};
    sessions_.emplace(std::move(id), std::move(s));
}

std::optional<Session> SessionTable::use(std::string_view id, AuthClock::time_point now) {
    // A map lookup compares keys with an early exit; walking every entry with the
    // constant-time compare leaks nothing about how close a forged cookie is.
    auto found = sessions_.end();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
        if (constantTimeEqual(it->first, id)) {
            found = it;
        }
    }
    if (found == sessions_.end()) {
        return std::nullopt;
    }
    if (expired(found->second, now)) {
        sessions_.erase(found);
        return std::nullopt;
    }
    found->second.lastUsed = now;
    return found->second;
}

void SessionTable::remove(std::string_view id) {
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
        if (constantTimeEqual(it->first, id)) {
            sessions_.erase(it);
            return;
        }
    }
}

void SignInLimiter::refill(Bucket& b, AuthClock::time_point now) const {
    if (now <= b.updated) {
        return;
    }
    const double per = std::chrono::duration<double>(cfg_.refillEvery).count();
    const double gained = std::chrono::duration<double>(now - b.updated).count() / per;
    b.tokens = std::min(cfg_.burst, b.tokens + gained);
    b.updated = now;
}

std::optional<std::chrono::seconds> SignInLimiter::retryAfter(const std::string& address,
                                                              AuthClock::time_point now) {
    auto it = buckets_.find(address);
    if (it == buckets_.end()) {
        return std::nullopt;
    }
    refill(it->second, now);
    if (it->second.tokens >= 1.0) {
        if (it->second.tokens >= cfg_.burst) {
            buckets_.erase(it);  // back to a stranger's full bucket: nothing to remember
        }
        return std::nullopt;
    }
    const double per = std::chrono::duration<double>(cfg_.refillEvery).count();
    // Less a nanosecond: 7.0000001 s of floating-point error is 7 s, not 8.
    const double wait = std::ceil((1.0 - it->second.tokens) * per - 1e-9);
    return std::chrono::seconds(std::max<long long>(1, static_cast<long long>(wait)));
}

void SignInLimiter::failed(const std::string& address, AuthClock::time_point now) {
    auto it = buckets_.find(address);
    if (it == buckets_.end()) {
        if (cfg_.maxAddresses > 0 && buckets_.size() >= cfg_.maxAddresses) {
            // The address whose bucket is fullest is the one closest to forgotten anyway.
            for (auto& [a, b] : buckets_) {
                refill(b, now);
            }
            auto fullest = std::max_element(buckets_.begin(), buckets_.end(), [](auto& a, auto& b) {
                return a.second.tokens < b.second.tokens;
            });
            buckets_.erase(fullest);
        }
        it = buckets_.emplace(address, Bucket{cfg_.burst, now}).first;
    }
    refill(it->second, now);
    it->second.tokens = std::max(0.0, it->second.tokens - 1.0);
}

}  // namespace pinet::core::http
