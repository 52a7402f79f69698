#pragma once
// The log line formatter of every command: spdlog's pattern, with the
// message's control bytes and invalid UTF-8 escaped (proto/text/safe_text.h).
// Values from the network are made safe where they enter; this is the second
// line, so that no string that slipped through can forge a log line (a "\n"
// in a TFTP file name once did) or break a JSON log shipper.

#include <memory>
#include <string>

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>

namespace pinet::io {

class SafeLogFormatter final : public spdlog::formatter {
public:
    explicit SafeLogFormatter(std::string pattern);
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override;

private:
    std::string pattern_;
    spdlog::pattern_formatter inner_;
};

/// Installs SafeLogFormatter with @p pattern on the default logger.
void useSafeLogFormat(const std::string& pattern);

}  // namespace pinet::io
