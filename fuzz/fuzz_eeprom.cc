// Fuzzes the EEPROM image parser and the writers that run on a parsed image
// (config replace, timestamp). Inputs of any length are accepted: the raw
// input is parsed as an image, and it is also placed at partition A (0x10000)
// of a small synthetic image so short inputs reach the write paths.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "proto/byte_reader.h"
#include "proto/eeprom/bootconf.h"
#include "proto/eeprom/image.h"

namespace {

using namespace pinet::proto::eeprom;

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

void exercise(std::vector<std::uint8_t> img) {
    auto layout = parseImage(img, ParseOptions{.requireStandardSize = false});
    if (!layout) {
        return;
    }
    std::size_t prevEnd = 0;
    for (const auto& s : layout->sections) {
        check(s.offset % 8 == 0 && s.offset >= prevEnd);
        check(s.offset + 8 + s.length <= img.size());
        check(s.contentOffset() + s.contentLength() <= img.size());
        prevEnd = s.offset + 8 + s.length;
    }
    for (const auto& name : layout->fileNames()) {
        auto c = readFile(img, *layout, name);
        check(c.has_value());
    }
    (void)layout->isAB();
    (void)layout->chip();

    if (auto conf = readFile(img, *layout, "bootconf.txt")) {
        std::string text(conf->begin(), conf->end());
        (void)lintConfig(text);
        if (auto edited = setKey(text, "BOOT_ORDER", "0xf21")) {
            check(getKey(*edited, "BOOT_ORDER") == std::string("0xf21"));
        }
    }

    const std::size_t size = img.size();
    if (size >= kEraseAlign) {
        auto copy = img;
        static const std::uint8_t kConf[] = "[all]\nBOOT_ORDER=0xf21\n";
        (void)replaceFile(copy, *layout, "bootconf.txt", std::span(kConf, sizeof(kConf) - 1), "c");
        check(copy.size() == size);
        auto again = parseImage(copy, ParseOptions{.requireStandardSize = false});
        (void)again;
        auto ts = img;
        (void)setTimestamp(ts, *layout, 1700000000);
        check(ts.size() == size);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> in(data, size);
    exercise({in.begin(), in.end()});

    // The same bytes as partition A content behind a bootcode section whose body
    // ends exactly at 0x10000, followed by 4 KiB scratch + the erase-block tail.
    constexpr std::size_t kMaxEmbedded = 64 * 1024;  // keeps each run small and fast
    const std::size_t n = std::min(size, kMaxEmbedded);
    std::vector<std::uint8_t> img(kPartitionAStart + n + 2 * kEraseAlign, 0xFF);
    pinet::proto::putU32be(img.data(), kMagicBootcode);
    pinet::proto::putU32be(img.data() + 4, static_cast<std::uint32_t>(kPartitionAStart - 8));
    std::copy_n(data, n, img.begin() + static_cast<std::ptrdiff_t>(kPartitionAStart));
    exercise(std::move(img));
    return 0;
}
