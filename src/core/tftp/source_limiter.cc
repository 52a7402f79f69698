#include "core/tftp/source_limiter.h"

#include <algorithm>

namespace pinet::core::tftp {

const char* toString(SourceLimiter::Verdict v) {
    switch (v) {
        case SourceLimiter::Verdict::Ok: return "ok";
        case SourceLimiter::Verdict::TooManyConcurrent: return "too many concurrent transfers";
        case SourceLimiter::Verdict::RateLimited: return "request rate limit";
        case SourceLimiter::Verdict::TableFull: return "source table full";
    }
    return "?";
}

std::size_t SourceLimiter::KeyHash::operator()(const SourceKey& k) const noexcept {
    // FNV-1a: the keys are addresses, not attacker-chosen to collide cheaply
    // at this table size; the table is bounded anyway.
    std::uint64_t h = 1469598103934665603ull;
    for (auto b : k) {
        h = (h ^ b) * 1099511628211ull;
    }
    return static_cast<std::size_t>(h);
}

void SourceLimiter::refill(Entry& e, Clock::time_point now) const {
    if (now > e.refilled) {
        double secs = std::chrono::duration<double>(now - e.refilled).count();
        e.tokens = std::min(limits_.burst, e.tokens + secs * limits_.requestsPerSecond);
    }
    e.refilled = now;
}

SourceLimiter::Verdict SourceLimiter::admit(const SourceKey& source, Clock::time_point now) {
    auto it = table_.find(source);
    if (it == table_.end()) {
        if (table_.size() >= limits_.maxSources) {
            expire(now);
            if (table_.size() >= limits_.maxSources) {
                return Verdict::TableFull;
            }
        }
        it = table_.emplace(source, Entry{limits_.burst, now, 0}).first;
    }
    Entry& e = it->second;
    refill(e, now);
    if (e.tokens < 1.0) {
        return Verdict::RateLimited;
    }
    e.tokens -= 1.0;
    if (e.active >= limits_.maxConcurrent) {
        return Verdict::TooManyConcurrent;
    }
    ++e.active;
    return Verdict::Ok;
}

void SourceLimiter::release(const SourceKey& source) {
    auto it = table_.find(source);
    if (it != table_.end() && it->second.active > 0) {
        --it->second.active;
    }
}

void SourceLimiter::expire(Clock::time_point now) {
    for (auto it = table_.begin(); it != table_.end();) {
        refill(it->second, now);
        if (it->second.active == 0 && it->second.tokens >= limits_.burst) {
            it = table_.erase(it);
        } else {
            ++it;
        }
    }
}

std::uint32_t SourceLimiter::concurrent(const SourceKey& source) const {
    auto it = table_.find(source);
    return it == table_.end() ? 0 : it->second.active;
}

}  // namespace pinet::core::tftp
