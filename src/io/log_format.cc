#include "io/log_format.h"

#include <spdlog/spdlog.h>

#include "proto/text/safe_text.h"

namespace pinet::io {

SafeLogFormatter::SafeLogFormatter(std::string pattern)
    : pattern_(std::move(pattern)), inner_(pattern_) {}

void SafeLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    // Every escape is 4 bytes per byte at most: the bound never cuts a line.
    const std::string safe =
        proto::text::safeText(payload, payload.size() * 4 + 16, proto::text::Backslash::Keep);
    if (safe == payload) {
        inner_.format(msg, dest);
        return;
    }
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(safe.data(), safe.size());
    inner_.format(copy, dest);
}

std::unique_ptr<spdlog::formatter> SafeLogFormatter::clone() const {
    return std::make_unique<SafeLogFormatter>(pattern_);
}

void useSafeLogFormat(const std::string& pattern) {
    spdlog::set_formatter(std::make_unique<SafeLogFormatter>(pattern));
}

}  // namespace pinet::io
