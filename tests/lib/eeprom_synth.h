#pragma once
// Builds small synthetic EEPROM images (bootcode + named file sections) so tests and the
// fuzz corpus never need modified copies of the licensed firmware images.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pinet::test {

struct SynthFile {
    std::string name;
    std::vector<std::uint8_t> content;
    std::size_t at = 0;  ///< header offset; 0 = right after the previous section
};

/// bootcode section at 0 with @p bootcodeLen bytes, then each file (a pad section fills any
/// gap before a file placed with `at`), then 0xFF up to @p size.
std::vector<std::uint8_t> buildSyntheticImage(std::size_t size, std::size_t bootcodeLen,
                                              const std::vector<SynthFile>& files);

/// The smallest image the tool accepts that still has a config: 512 KiB, bootcode and a
/// bootconf.txt in partition A, no pubkey.bin / bootconf.sig.
std::vector<std::uint8_t> minimalImage(const std::string& config = "[all]\nBOOT_UART=0\n");

}  // namespace pinet::test
