// Fuzz target: pinetboot.toml through parseConfig (toml++ and the key table). A
// file may be refused, with a ConfigError naming FILE:LINE; nothing else may
// come out of it: no other exception, no crash, no hang. A file that is accepted
// is accepted again from the same text (parsing is a pure function of it).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "app/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto cfg = pinet::app::config::parseConfig(text, "fuzz.toml");
        const auto again = pinet::app::config::parseConfig(text, "fuzz.toml");
        if (cfg.interfaces.size() != again.interfaces.size() || cfg.tftpRoot != again.tftpRoot) {
            __builtin_trap();
        }
    } catch (const pinet::app::config::ConfigError&) {
        // Refused with a message: the expected outcome for most inputs.
    }
    return 0;
}
