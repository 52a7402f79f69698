// Fuzz target: config.txt as the firmware reads it (proto/netboot/boot_config), the
// file an image's boot partition hands pinetboot. The first byte picks the board and
// the tryboot flag; the rest is config.txt, and every include names a file with the
// same bytes (so nesting and the file budget are exercised). Which other files exist
// is decided by a hash of the name, so prefixes pass or fail the viability test.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/netboot/boot_config.h"

namespace {

using namespace pinet::proto::netboot;

class FuzzFiles : public BootFiles {
public:
    explicit FuzzFiles(std::string config) : config_(std::move(config)) {}
    [[nodiscard]] std::optional<std::string> read(std::string_view path) const override {
        check(path);
        return config_;
    }
    [[nodiscard]] bool exists(std::string_view path) const override {
        check(path);
        std::uint32_t h = 2166136261U;  // FNV-1a
        for (char c : path) {
            h = (h ^ static_cast<unsigned char>(c)) * 16777619U;
        }
        return (h & 1U) != 0;
    }

private:
    static void check(std::string_view path) {
        // Nothing outside the boot partition is ever asked for.
        if (path != "config.txt" && path != "tryboot.txt" && !isSafeBootPath(path)) {
            __builtin_trap();
        }
    }
    std::string config_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    auto boards = allPiBoards();
    BoardContext ctx{boards[data[0] % boards.size()], (data[0] & 0x80U) != 0, "9ffefdef"};
    FuzzFiles files(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
    auto chain = resolveBootChain(files, ctx);
    if (chain) {
        for (const auto* p : {&chain->cmdline, &chain->kernel, &chain->dtb}) {
            if (!isSafeBootPath(*p)) {
                __builtin_trap();
            }
        }
        if (chain->settings.configFiles.size() > kMaxBootConfigFiles) {
            __builtin_trap();
        }
    }
    return 0;
}
