#include "core/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace pinet::core::metrics {

std::string escapeLabelValue(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string escapeHelp(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string formatValue(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        return fmt::format("{}", static_cast<long long>(v));
    }
    return fmt::format("{}", v);
}

void Registry::declare(std::string name, std::string help, Kind kind, std::vector<double> buckets) {
    std::lock_guard lock(mutex_);
    if (find(name) != nullptr) {
        return;
    }
    families_.push_back(Family{std::move(name), std::move(help), kind, std::move(buckets), {}});
}

Registry::Family* Registry::find(std::string_view name) {
    for (auto& f : families_) {
        if (f.name == name) {
            return &f;
        }
    }
    return nullptr;
}

const Registry::Family* Registry::find(std::string_view name) const {
    for (const auto& f : families_) {
        if (f.name == name) {
            return &f;
        }
    }
    return nullptr;
}

void Registry::add(std::string_view name, const Labels& labels, double value) {
    std::lock_guard lock(mutex_);
    if (auto* f = find(name); f != nullptr && f->kind != Kind::Histogram) {
        f->series[labels].value += value;
    }
}

void Registry::set(std::string_view name, const Labels& labels, double value) {
    std::lock_guard lock(mutex_);
    if (auto* f = find(name); f != nullptr && f->kind == Kind::Gauge) {
        f->series[labels].value = value;
    }
}

void Registry::setTotal(std::string_view name, const Labels& labels, double value) {
    std::lock_guard lock(mutex_);
    if (auto* f = find(name); f != nullptr && f->kind == Kind::Counter) {
        f->series[labels].value = value;
    }
}

void Registry::observe(std::string_view name, const Labels& labels, double value) {
    std::lock_guard lock(mutex_);
    auto* f = find(name);
    if (f == nullptr || f->kind != Kind::Histogram) {
        return;
    }
    auto& s = f->series[labels];
    if (s.bucket.empty()) {
        s.bucket.assign(f->buckets.size(), 0);
    }
    for (std::size_t i = 0; i < f->buckets.size(); ++i) {
        if (value <= f->buckets[i]) {
            ++s.bucket[i];  // per-bucket here; made cumulative when rendered
            break;
        }
    }
    s.sum += value;
    ++s.count;
}

void Registry::setHistogramTotals(std::string_view name, const Labels& labels,
                                  std::span<const std::uint64_t> cumulative, double sum) {
    std::lock_guard lock(mutex_);
    auto* f = find(name);
    if (f == nullptr || f->kind != Kind::Histogram || cumulative.size() != f->buckets.size() + 1) {
        return;
    }
    auto& s = f->series[labels];
    s.bucket.assign(f->buckets.size(), 0);
    std::uint64_t below = 0;
    for (std::size_t i = 0; i < f->buckets.size(); ++i) {
        s.bucket[i] = cumulative[i] >= below ? cumulative[i] - below : 0;
        below = std::max(below, cumulative[i]);
    }
    s.count = cumulative.back();
    s.sum = sum;
}

double Registry::value(std::string_view name, const Labels& labels) const {
    std::lock_guard lock(mutex_);
    const auto* f = find(name);
    if (f == nullptr) {
        return 0;
    }
    auto it = f->series.find(labels);
    return it == f->series.end() ? 0 : it->second.value;
}

std::uint64_t Registry::count(std::string_view name, const Labels& labels) const {
    std::lock_guard lock(mutex_);
    const auto* f = find(name);
    if (f == nullptr) {
        return 0;
    }
    auto it = f->series.find(labels);
    return it == f->series.end() ? 0 : it->second.count;
}

namespace {

std::string labelText(const Labels& labels, std::string_view extraName = {},
                      std::string_view extraValue = {}) {
    if (labels.empty() && extraName.empty()) {
        return {};
    }
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
        out += first ? "" : ",";
        first = false;
        out += fmt::format("{}=\"{}\"", k, escapeLabelValue(v));
    }
    if (!extraName.empty()) {
        out += first ? "" : ",";
        out += fmt::format("{}=\"{}\"", extraName, extraValue);
    }
    return out + "}";
}

}  // namespace

std::string Registry::render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& f : families_) {
        const char* type = f.kind == Kind::Counter ? "counter"
                           : f.kind == Kind::Gauge ? "gauge"
                                                   : "histogram";
        out +=
            fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, escapeHelp(f.help), f.name, type);
        for (const auto& [labels, s] : f.series) {
            if (f.kind != Kind::Histogram) {
                out += fmt::format("{}{} {}\n", f.name, labelText(labels), formatValue(s.value));
                continue;
            }
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < f.buckets.size(); ++i) {
                cumulative += i < s.bucket.size() ? s.bucket[i] : 0;
                out += fmt::format("{}_bucket{} {}\n", f.name,
                                   labelText(labels, "le", formatValue(f.buckets[i])), cumulative);
            }
            out +=
                fmt::format("{}_bucket{} {}\n", f.name, labelText(labels, "le", "+Inf"), s.count);
            out += fmt::format("{}_sum{} {}\n", f.name, labelText(labels), formatValue(s.sum));
            out += fmt::format("{}_count{} {}\n", f.name, labelText(labels), s.count);
        }
    }
    return out;
}

}  // namespace pinet::core::metrics
