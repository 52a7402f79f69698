#include "lib/eeprom_synth.h"

#include <algorithm>
#include <stdexcept>

namespace pinet::test {

namespace {
void putBe(std::vector<std::uint8_t>& img, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        img.at(at + static_cast<std::size_t>(i)) = static_cast<std::uint8_t>(v >> (24 - 8 * i));
    }
}
std::size_t align8(std::size_t v) {
    return (v + 7) & ~std::size_t{7};
}
}  // namespace

std::vector<std::uint8_t> buildSyntheticImage(std::size_t size, std::size_t bootcodeLen,
                                              const std::vector<SynthFile>& files) {
    std::vector<std::uint8_t> img(size, 0xFF);
    putBe(img, 0, 0x55AAF00F);
    putBe(img, 4, static_cast<std::uint32_t>(bootcodeLen));
    for (std::size_t i = 0; i < bootcodeLen; ++i) {
        img.at(8 + i) = static_cast<std::uint8_t>(i * 7 + 3);
    }
    std::size_t pos = align8(8 + bootcodeLen);
    for (const auto& f : files) {
        if (f.at != 0 && f.at > pos) {
            if (f.at - pos < 8) {
                throw std::logic_error("gap too small for a pad section");
            }
            putBe(img, pos, 0x55AAFEEF);
            putBe(img, pos + 4, static_cast<std::uint32_t>(f.at - pos - 8));
            pos = f.at;
        }
        putBe(img, pos, 0x55AAF11F);
        putBe(img, pos + 4, static_cast<std::uint32_t>(f.content.size() + 16));
        for (std::size_t i = 0; i < 16; ++i) {
            img.at(pos + 8 + i) =
                i < f.name.size() && i < 12 ? static_cast<std::uint8_t>(f.name[i]) : 0;
        }
        std::copy(f.content.begin(), f.content.end(),
                  img.begin() + static_cast<std::ptrdiff_t>(pos + 24));
        pos = align8(pos + 24 + f.content.size());
    }
    return img;
}

std::vector<std::uint8_t> minimalImage(const std::string& config) {
    return buildSyntheticImage(524288, 1000,
                               {{"bootconf.txt", {config.begin(), config.end()}, 0x10000}});
}

}  // namespace pinet::test
