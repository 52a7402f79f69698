#pragma once
// Raspberry Pi bootloader EEPROM image: section chain parser and the byte-exact
// file replacement and timestamp writers of `rpi-eeprom-config`
// (spec: shared/spec/eeprom-usbboot.md, Part 1). Pure: bytes in, values or
// bytes out; errors are values whose message names the problem.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::eeprom {

/// Valid image sizes (spec 1.1, `VALID_IMAGE_SIZES`): BCM2711 512 KiB, BCM2712 2 MiB.
inline constexpr std::size_t kImageSize2711 = 524288;
inline constexpr std::size_t kImageSize2712 = 2097152;

/// Section magics (spec 1.2). A magic is valid if (magic & kMagicMask) == kMagicBootcode.
inline constexpr std::uint32_t kMagicMask = 0xFFFFF00F;
inline constexpr std::uint32_t kMagicBootcode = 0x55AAF00F;
inline constexpr std::uint32_t kMagicFile = 0x55AAF11F;
inline constexpr std::uint32_t kMagicPad = 0x55AAFEEF;

/// Section header: BE magic + BE length (spec 1.2).
inline constexpr std::size_t kSectionHeaderLen = 8;
/// File section: 12-byte NUL-padded name after the header (spec 1.3, FILENAME_LEN).
inline constexpr std::size_t kFileNameLen = 12;
/// The tool's FILE_HDR_LEN: section header + name (spec 1.3).
inline constexpr std::size_t kFileHdrLen = 20;
/// File content starts after header, name and 4 reserved bytes (spec 1.3).
inline constexpr std::size_t kFileContentOffset = 24;
/// Length field of a file section = content length + 16 (name + reserved, spec 1.3).
inline constexpr std::uint32_t kFileLengthOverhead = 16;
/// Largest replaceable file: one 4 KiB erase block minus FILE_HDR_LEN (spec 1.6 step 1).
inline constexpr std::size_t kMaxFileSize = 4096 - kFileHdrLen;
/// The last 4 KiB of an image is bootloader scratch space; padding never reaches it (spec 1.4).
inline constexpr std::size_t kEraseAlign = 4096;
/// Partition A, where every write looks for its target (spec 1.4/1.5).
inline constexpr std::size_t kPartitionAStart = 0x10000;
inline constexpr std::size_t kPartitionAEnd = 0x107000;
/// The read-only region holding the bootcode and, on A/B images, an `updatetime` (spec 1.4).
inline constexpr std::size_t kReadOnlyEnd = 0x10000;

enum class Chip { Bcm2711, Bcm2712 };

enum class SectionKind {
    Bootcode,  ///< 0x55AAF00F, always first
    File,      ///< 0x55AAF11F, named modifiable file
    Pad,       ///< 0x55AAFEEF
    Module,    ///< any other valid magic (firmware modules), opaque
};

struct Section {
    std::size_t offset = 0;  ///< header offset in the image
    std::uint32_t magic = 0;
    std::uint32_t length = 0;  ///< body length after the 8-byte header
    SectionKind kind = SectionKind::Module;
    std::string name;  ///< File sections only: name with NULs stripped

    /// Offset of the content: +24 for files, +8 for the rest.
    [[nodiscard]] std::size_t contentOffset() const;
    /// Content length: length-16 for files, length for the rest.
    [[nodiscard]] std::size_t contentLength() const;
};

struct ImageLayout {
    std::size_t size = 0;
    std::vector<Section> sections;

    /// Chip by image size (spec 1.1); nullopt for non-standard sizes (fuzzing).
    [[nodiscard]] std::optional<Chip> chip() const;
    /// A/B layout: some file section is named `bootsys` (spec 1.4).
    [[nodiscard]] bool isAB() const;
    /// Read lookup (spec 1.5): `bootcode.bin` = section 0, else the first file with that name.
    [[nodiscard]] const Section* findForRead(std::string_view name) const;
    /// Names `-x` writes, in chain order, each once (spec 1.9): bootcode.bin then file names.
    [[nodiscard]] std::vector<std::string> fileNames() const;
};

struct ParseOptions {
    /// Reject sizes other than 512 KiB / 2 MiB (the tool's rule). Off for fuzzing.
    bool requireStandardSize = true;
};

/// Walks the section chain (spec 1.2–1.3).
/// @return the layout, or an error: wrong size (upstream wording), a magic that fails the mask
///         (`EEPROM is corrupted ...`), a header or body running past the end, a file section
///         shorter than its 16-byte name+reserved part, or a first section that is not bootcode.
Result<ImageLayout> parseImage(std::span<const std::uint8_t> image, ParseOptions options = {});

/// Content of a file by read lookup (spec 1.5). Error `<name> not found` if absent.
Result<std::span<const std::uint8_t>> readFile(std::span<const std::uint8_t> image,
                                               const ImageLayout& layout, std::string_view name);

/// True if @p content has a non-zero byte (factory pubkey.bin is all zeros).
bool isNonZero(std::span<const std::uint8_t> content);

/// Replaces file @p name in partition A with @p content, byte-exactly like
/// `rpi-eeprom-config` (spec 1.6). @p sourceName names the source file in the
/// size error (`src file <sourceName> is too large ...`). Only `bootcode.bin`/`bootsys`
/// would be exempt from the 4076-byte limit, and those are not supported here.
/// On error @p image is unchanged. The layout must be re-parsed afterwards.
Result<void> replaceFile(std::span<std::uint8_t> image, const ImageLayout& layout,
                         std::string_view name, std::span<const std::uint8_t> content,
                         std::string_view sourceName);

/// Writes the update timestamp @p value (spec 1.8): into the read-only and partition A
/// `updatetime` files if the former exists, else into the last 8 bytes of the image.
Result<void> setTimestamp(std::span<std::uint8_t> image, const ImageLayout& layout,
                          std::uint32_t value);

/// The 8 timestamp bytes: u32 LE ~v then u32 LE v (spec 1.8).
std::vector<std::uint8_t> encodeTimestamp(std::uint32_t value);

/// `pubkey.bin` content (spec 1.7): modulus as 256 bytes little-endian, then the exponent as
/// 8 bytes little-endian. Inputs are big-endian magnitudes (leading zeros allowed).
/// @return an error if the modulus does not fit 256 bytes or the exponent 8 bytes.
Result<std::vector<std::uint8_t>> encodePubkeyBin(std::span<const std::uint8_t> modulusBe,
                                                  std::span<const std::uint8_t> exponentBe);

/// Human name of a chip: "2711" / "2712".
std::string_view chipName(Chip chip);
/// Human name of a section kind: "bootcode", "file", "pad", "module".
std::string_view kindName(SectionKind kind);

}  // namespace pinet::proto::eeprom
