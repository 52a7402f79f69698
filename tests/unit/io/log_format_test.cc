#include "io/log_format.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

namespace pinet::io {
namespace {

std::string formatted(std::string_view payload) {
    SafeLogFormatter f("%v");
    spdlog::details::log_msg msg("pinetboot", spdlog::level::info,
                                 spdlog::string_view_t(payload.data(), payload.size()));
    spdlog::memory_buf_t out;
    f.format(msg, out);
    return std::string(out.data(), out.size());
}

// Issue #13: a TFTP name with "\n" once forged whole log lines.
TEST(SafeLogFormatter, ControlBytesCannotForgeALine) {
    EXPECT_EQ(formatted("TFTP_DONE a\n2026-12-02 INFO forged"),
              "TFTP_DONE a\\x0a2026-12-02 INFO forged\n");
    EXPECT_EQ(formatted("bad \xff byte"), "bad \\xff byte\n");
    EXPECT_EQ(formatted("plain C:\\path"), "plain C:\\path\n");  // backslash kept
    EXPECT_EQ(formatted("Grüße"), "Grüße\n");
    auto clone = SafeLogFormatter("%v").clone();
    EXPECT_NE(clone, nullptr);
}

}  // namespace
}  // namespace pinet::io
