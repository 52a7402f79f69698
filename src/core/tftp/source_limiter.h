#pragma once
// Per-source admission for new TFTP requests: a cap on concurrent transfers
// and a token bucket on new requests per second, keyed by source IP (not
// port: the Pi uses a new port for every RRQ). Injected clock.

#include <array>
#include <chrono>
#include <cstdint>
#include <unordered_map>

namespace pinet::core::tftp {

/// An IPv6 address, or an IPv4 address in its v4-mapped form.
using SourceKey = std::array<std::uint8_t, 16>;

struct SourceLimits {
    /// A Pi fetches one file at a time (lockstep bootloader); 16 leaves room
    /// for a few boards behind one NAT/relay while stopping one host from
    /// holding every slot.
    std::uint32_t maxConcurrent = 16;
    /// A Pi boot is ~30-60 RRQs (probes included) within a few seconds
    /// (spec 4.3); 50/s sustained with a burst of 100 never slows one down.
    double requestsPerSecond = 50.0;
    double burst = 100.0;
    /// Sources tracked at once; beyond this new sources are refused rather
    /// than letting spoofed addresses grow the table without bound.
    std::size_t maxSources = 65536;
};

class SourceLimiter {
public:
    enum class Verdict { Ok, TooManyConcurrent, RateLimited, TableFull };
    using Clock = std::chrono::steady_clock;

    explicit SourceLimiter(SourceLimits limits = {}) : limits_(limits) {}

    /// A new request from @p source. On Ok one concurrent slot is taken;
    /// give it back with release().
    Verdict admit(const SourceKey& source, Clock::time_point now);
    void release(const SourceKey& source);
    /// Forgets idle sources (no transfer, bucket full again).
    void expire(Clock::time_point now);

    [[nodiscard]] std::size_t trackedSources() const { return table_.size(); }
    [[nodiscard]] std::uint32_t concurrent(const SourceKey& source) const;
    [[nodiscard]] const SourceLimits& limits() const { return limits_; }

private:
    struct Entry {
        double tokens = 0;
        Clock::time_point refilled{};
        std::uint32_t active = 0;
    };
    struct KeyHash {
        std::size_t operator()(const SourceKey& k) const noexcept;
    };
    void refill(Entry& e, Clock::time_point now) const;

    SourceLimits limits_;
    std::unordered_map<SourceKey, Entry, KeyHash> table_;
};

const char* toString(SourceLimiter::Verdict v);

}  // namespace pinet::core::tftp
