#pragma once
// A small metrics registry rendered in the Prometheus text exposition format
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
// "# HELP name text", "# TYPE name counter|gauge|histogram", then one line per
// series "name{label="value",...} number". There is no prometheus-cpp package
// in Debian 12, and this is all we need.
//
// Thread-safe (one mutex; updates are a map lookup and an add, far cheaper than
// the packet they count). Label sets are small and bounded by the callers: every
// label value comes from a closed set (packet type, result enum, reason word).

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pinet::core::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Kind { Counter, Gauge, Histogram };

class Registry {
public:
    /// Declares a family; must be called before use. @p buckets only for histograms
    /// (upper bounds, ascending; +Inf is added).
    void declare(std::string name, std::string help, Kind kind, std::vector<double> buckets = {});

    void add(std::string_view name, const Labels& labels, double value = 1.0);
    void set(std::string_view name, const Labels& labels, double value);
    /// Sets a counter to a total kept elsewhere (e.g. a server's own counters);
    /// the caller guarantees it never decreases.
    void setTotal(std::string_view name, const Labels& labels, double value);
    void observe(std::string_view name, const Labels& labels, double value);
    /// Sets a histogram to totals kept elsewhere: @p cumulative holds the count at or
    /// below each declared bucket, then the count of all samples (+Inf); @p sum their sum.
    void setHistogramTotals(std::string_view name, const Labels& labels,
                            std::span<const std::uint64_t> cumulative, double sum);

    /// Current value of a counter/gauge series (0 if absent); for tests and the API.
    double value(std::string_view name, const Labels& labels) const;
    /// Sample count of a histogram series.
    std::uint64_t count(std::string_view name, const Labels& labels) const;

    /// The whole registry in text format 0.0.4, families in declaration order.
    std::string render() const;

private:
    struct Series {
        double value = 0;                   // counter/gauge
        std::vector<std::uint64_t> bucket;  // histogram: cumulative at render time
        double sum = 0;
        std::uint64_t count = 0;
    };
    struct Family {
        std::string name;
        std::string help;
        Kind kind = Kind::Counter;
        std::vector<double> buckets;
        std::map<Labels, Series> series;
    };
    Family* find(std::string_view name);
    const Family* find(std::string_view name) const;

    mutable std::mutex mutex_;
    std::vector<Family> families_;
};

/// Escapes a label value: backslash, double quote and newline (format 0.0.4).
std::string escapeLabelValue(std::string_view value);
/// Escapes HELP text: backslash and newline.
std::string escapeHelp(std::string_view value);
/// Formats a sample value: integers without a fraction, +Inf/-Inf/NaN spelled out.
std::string formatValue(double value);

}  // namespace pinet::core::metrics
