#include "proto/eeprom/image.h"

#include <algorithm>

#include <fmt/format.h>

#include "proto/byte_reader.h"

namespace pinet::proto::eeprom {

std::size_t Section::contentOffset() const {
    return offset + (kind == SectionKind::File ? kFileContentOffset : kSectionHeaderLen);
}

std::size_t Section::contentLength() const {
    // parseImage guarantees length >= 16 for file sections.
    return kind == SectionKind::File ? length - kFileLengthOverhead : length;
}

std::optional<Chip> ImageLayout::chip() const {
    if (size == kImageSize2711) {
        return Chip::Bcm2711;
    }
    if (size == kImageSize2712) {
        return Chip::Bcm2712;
    }
    return std::nullopt;
}

bool ImageLayout::isAB() const {
    return std::any_of(sections.begin(), sections.end(), [](const Section& s) {
        return s.kind == SectionKind::File && s.name == "bootsys";
    });
}

const Section* ImageLayout::findForRead(std::string_view name) const {
    if (name == "bootcode.bin") {
        return sections.empty() ? nullptr : &sections.front();
    }
    for (const auto& s : sections) {
        if (s.kind == SectionKind::File && s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

std::vector<std::string> ImageLayout::fileNames() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < sections.size(); ++i) {
        const auto& s = sections[i];
        std::string name;
        if (i == 0 && s.kind == SectionKind::Bootcode) {
            name = "bootcode.bin";
        } else if (s.kind == SectionKind::File) {
            name = s.name;
        } else {
            continue;
        }
        if (std::find(out.begin(), out.end(), name) == out.end()) {
            out.push_back(std::move(name));
        }
    }
    return out;
}

Result<ImageLayout> parseImage(std::span<const std::uint8_t> image, ParseOptions options) {
    if (options.requireStandardSize && image.size() != kImageSize2711 &&
        image.size() != kImageSize2712) {
        // Upstream wording (rpi-eeprom-config, VALID_IMAGE_SIZES), spec 1.1.
        return fail(fmt::format("Expected sizes [{}, {}] bytes, got actual size {} bytes",
                                kImageSize2711, kImageSize2712, image.size()));
    }
    ImageLayout layout;
    layout.size = image.size();
    std::size_t offset = 0;
    while (offset < image.size()) {
        ByteReader r(image.subspan(offset));
        auto magic = r.u32be();
        auto length = r.u32be();
        if (!magic || !length) {
            return fail(
                fmt::format("section header at 0x{:x} is cut off by the end of the image", offset));
        }
        if (*magic == 0 || *magic == 0xFFFFFFFFu) {
            break;  // end marker / erased flash (spec 1.2)
        }
        if ((*magic & kMagicMask) != kMagicBootcode) {
            return fail(fmt::format("EEPROM is corrupted {:x} {:x} {:x} (bad magic at 0x{:x})",
                                    *magic, *magic & kMagicMask, kMagicBootcode, offset));
        }
        Section s;
        s.offset = offset;
        s.magic = *magic;
        s.length = *length;
        if (*magic == kMagicBootcode) {
            s.kind = SectionKind::Bootcode;
        } else if (*magic == kMagicFile) {
            s.kind = SectionKind::File;
        } else if (*magic == kMagicPad) {
            s.kind = SectionKind::Pad;
        } else {
            s.kind = SectionKind::Module;
        }
        if (layout.sections.empty() && s.kind != SectionKind::Bootcode) {
            return fail(
                fmt::format("first section is not a bootcode section (magic {:08x})", *magic));
        }
        // Wide arithmetic: offset < size <= SIZE_MAX/2 and length is 32-bit.
        const std::size_t bodyEnd = offset + kSectionHeaderLen + std::size_t{*length};
        if (bodyEnd > image.size()) {
            return fail(fmt::format(
                "section at 0x{:x} (magic {:08x}) has length {} and runs past the end of the "
                "image ({} bytes)",
                offset, *magic, *length, image.size()));
        }
        if (s.kind == SectionKind::File) {
            if (*length < kFileLengthOverhead) {
                return fail(fmt::format("file section at 0x{:x} has length {} (< {})", offset,
                                        *length, kFileLengthOverhead));
            }
            auto nameBytes = r.bytes(kFileNameLen);
            for (std::uint8_t c : *nameBytes) {
                if (c != 0) {  // the tool strips every NUL of the 12-byte field
                    s.name.push_back(static_cast<char>(c));
                }
            }
        }
        layout.sections.push_back(std::move(s));
        offset = (bodyEnd + 7) & ~std::size_t{7};  // next section is 8-aligned (spec 1.2)
    }
    if (layout.sections.empty()) {
        return fail("no sections: the image is empty or erased");
    }
    return layout;
}

Result<std::span<const std::uint8_t>> readFile(std::span<const std::uint8_t> image,
                                               const ImageLayout& layout, std::string_view name) {
    const Section* s = layout.findForRead(name);
    if (s == nullptr) {
        return fail(fmt::format("{} not found in the image", name));
    }
    return image.subspan(s->contentOffset(), s->contentLength());
}

bool isNonZero(std::span<const std::uint8_t> content) {
    return std::any_of(content.begin(), content.end(), [](std::uint8_t b) { return b != 0; });
}

Result<void> replaceFile(std::span<std::uint8_t> image, const ImageLayout& layout,
                         std::string_view name, std::span<const std::uint8_t> content,
                         std::string_view sourceName) {
    const std::size_t n = content.size();
    const std::size_t size = image.size();
    if (size != layout.size || size < kEraseAlign) {
        return fail("image does not match its parsed layout");
    }
    // Spec 1.6 step 1 (upstream wording).
    if (n > kMaxFileSize) {
        return fail(
            fmt::format("src file {} is too large ({} bytes). The maximum size is {} bytes.",
                        sourceName, n, kMaxFileSize));
    }
    // Spec 1.5: the write target is the first file of that name whose header is in partition A.
    std::optional<std::size_t> target;
    for (std::size_t i = 0; i < layout.sections.size(); ++i) {
        const auto& s = layout.sections[i];
        if (s.kind == SectionKind::File && s.name == name && s.offset >= kPartitionAStart &&
            s.offset < kPartitionAEnd) {
            target = i;
            break;
        }
    }
    const std::size_t limit = size - kEraseAlign;
    if (target) {
        const std::size_t h = layout.sections[*target].offset;
        if (h + n + kFileHdrLen > limit) {
            return fail(fmt::format("No space available. {} size {} available space {}", name,
                                    n + kFileHdrLen, limit > h ? limit - h : 0));
        }
    }
    if (!target) {
        return fail(fmt::format("Update target {} not found", name));
    }
    const std::size_t h = layout.sections[*target].offset;
    const bool isLast = *target + 1 == layout.sections.size();
    std::size_t next = std::min(limit, kPartitionAEnd);
    for (std::size_t j = *target + 1; j < layout.sections.size(); ++j) {
        if (layout.sections[j].kind != SectionKind::Pad) {
            next = layout.sections[j].offset;
            break;
        }
    }
    if (h + n + kFileHdrLen > next) {
        return fail(fmt::format("Update {} bytes is larger than section size {}", n + kFileHdrLen,
                                next > h ? next - h : 0));
    }
    // Step 4: length field and content; name and reserved bytes stay.
    putU32be(image.data() + h + 4, static_cast<std::uint32_t>(n + kFileLengthOverhead));
    std::copy(content.begin(), content.end(), image.begin() + static_cast<std::ptrdiff_t>(h + 24));
    // Step 5: 0xFF to 8-alignment. p stays below size - 4088 (checked above).
    std::size_t p = h + kFileContentOffset + n;
    while (p % 8 != 0) {
        image[p++] = 0xFF;
    }
    // Step 6: a pad section up to the next real section, or plain 0xFF when last.
    if (next > p) {
        std::size_t gap = next - p;
        if (gap >= 8 && !isLast) {
            putU32be(image.data() + p, kMagicPad);
            putU32be(image.data() + p + 4, static_cast<std::uint32_t>(gap - 8));
            p += 8;
            gap -= 8;
        }
        std::fill_n(image.begin() + static_cast<std::ptrdiff_t>(p), gap, std::uint8_t{0xFF});
    }
    return {};
}

std::vector<std::uint8_t> encodeTimestamp(std::uint32_t value) {
    std::vector<std::uint8_t> out(8);
    putU32le(out.data(), ~value);
    putU32le(out.data() + 4, value);
    return out;
}

Result<void> setTimestamp(std::span<std::uint8_t> image, const ImageLayout& layout,
                          std::uint32_t value) {
    if (image.size() != layout.size || image.size() < 8) {
        return fail("image does not match its parsed layout");
    }
    const auto bytes = encodeTimestamp(value);
    auto findIn = [&](std::size_t lo, std::size_t hi) -> const Section* {
        for (const auto& s : layout.sections) {
            if (s.kind == SectionKind::File && s.name == "updatetime" && s.offset >= lo &&
                s.offset < hi) {
                return &s;
            }
        }
        return nullptr;
    };
    auto writeAt = [&](std::size_t at) -> Result<void> {
        if (at + bytes.size() > image.size()) {
            return fail(fmt::format("updatetime at 0x{:x} runs past the end of the image", at));
        }
        std::copy(bytes.begin(), bytes.end(), image.begin() + static_cast<std::ptrdiff_t>(at));
        return {};
    };
    // Spec 1.8: A/B images keep updatetime in the read-only region and in partition A.
    if (const Section* ro = findIn(0, kReadOnlyEnd)) {
        const Section* part = findIn(kPartitionAStart, kPartitionAEnd);
        if (part == nullptr) {
            return fail("Failed to find update time file in partition");
        }
        if (auto r = writeAt(ro->contentOffset()); !r) {
            return r;
        }
        return writeAt(part->contentOffset());
    }
    return writeAt(image.size() - 8);
}

Result<std::vector<std::uint8_t>> encodePubkeyBin(std::span<const std::uint8_t> modulusBe,
                                                  std::span<const std::uint8_t> exponentBe) {
    // Spec 1.7: 256-byte modulus (RSA-2048) + 8-byte exponent, both little-endian.
    constexpr std::size_t kModLen = 256;
    constexpr std::size_t kExpLen = 8;
    auto strip = [](std::span<const std::uint8_t> v) {
        std::size_t i = 0;
        while (i < v.size() && v[i] == 0) {
            ++i;
        }
        return v.subspan(i);
    };
    auto mod = strip(modulusBe);
    auto exp = strip(exponentBe);
    if (mod.size() > kModLen) {
        return fail(
            fmt::format("RSA modulus is {} bytes, pubkey.bin holds {}", mod.size(), kModLen));
    }
    if (exp.size() > kExpLen) {
        return fail(
            fmt::format("RSA exponent is {} bytes, pubkey.bin holds {}", exp.size(), kExpLen));
    }
    std::vector<std::uint8_t> out(kModLen + kExpLen, 0);
    std::copy(mod.rbegin(), mod.rend(), out.begin());
    std::copy(exp.rbegin(), exp.rend(), out.begin() + kModLen);
    return out;
}

std::string_view chipName(Chip chip) {
    return chip == Chip::Bcm2711 ? "2711" : "2712";
}

std::string_view kindName(SectionKind kind) {
    switch (kind) {
        case SectionKind::Bootcode: return "bootcode";
        case SectionKind::File: return "file";
        case SectionKind::Pad: return "pad";
        case SectionKind::Module: return "module";
    }
    return "module";
}

}  // namespace pinet::proto::eeprom
