// Fuzzes the bootconf.txt linter/editor, BOOT_ORDER parser and the .sig parser
// (all read untrusted text from images, files and the command line).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/eeprom/bootconf.h"
#include "proto/eeprom/sig.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pinet::proto::eeprom;
    // A config is at most 4076 bytes (spec 1.6); 16 KiB leaves room for the over-size
    // paths while keeping executions fast under ASan.
    constexpr std::size_t kMaxInput = 16 * 1024;
    if (size > kMaxInput) {
        return 0;
    }
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)lintConfig(text);
    if (auto v = parseBootOrder(text)) {
        (void)describeBootOrder(*v);
    }
    if (auto sig = parseSig(text)) {
        auto again = parseSig(formatSig(*sig));
        if (!again || again->sha256Hex != sig->sha256Hex || again->rsa2048 != sig->rsa2048) {
            std::abort();
        }
    }
    for (std::string_view section : {"all", "pi4"}) {
        if (auto edited = setKey(text, "BOOT_ORDER", "0xf21", section)) {
            if (getKey(*edited, "BOOT_ORDER", section) != std::string("0xf21")) {
                std::abort();
            }
            (void)lintConfig(*edited);
        }
    }
    return 0;
}
