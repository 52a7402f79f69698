#pragma once
// Bounds-checked cursor over untrusted bytes. Every read either succeeds
// completely or returns nullopt and leaves the cursor where it was, so a
// parser can never step past the end of a packet or file.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace pinet::proto {

/// Bytes seen as text, without a copy. The one byte-to-char cast of the pure
/// layers: char may alias any object, so this is no cast onto a struct.
inline std::string_view asText(std::span<const std::uint8_t> bytes) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> data) : data_(data) {}

    [[nodiscard]] std::size_t offset() const { return pos_; }
    [[nodiscard]] std::size_t remaining() const { return data_.size() - pos_; }
    [[nodiscard]] bool empty() const { return pos_ >= data_.size(); }
    [[nodiscard]] std::span<const std::uint8_t> rest() const { return data_.subspan(pos_); }

    std::optional<std::uint8_t> u8() {
        if (remaining() < 1) {
            return std::nullopt;
        }
        return data_[pos_++];
    }
    std::optional<std::uint16_t> u16be() { return readInt<std::uint16_t>(true); }
    std::optional<std::uint32_t> u32be() { return readInt<std::uint32_t>(true); }
    std::optional<std::uint16_t> u16le() { return readInt<std::uint16_t>(false); }
    std::optional<std::uint32_t> u32le() { return readInt<std::uint32_t>(false); }
    std::optional<std::uint64_t> u64le() { return readInt<std::uint64_t>(false); }

    /// @return the next @p n bytes as a view into the input, or nullopt if fewer remain.
    std::optional<std::span<const std::uint8_t>> bytes(std::size_t n) {
        if (remaining() < n) {
            return std::nullopt;
        }
        auto out = data_.subspan(pos_, n);
        pos_ += n;
        return out;
    }

    /// @return false (and no move) if fewer than @p n bytes remain.
    bool skip(std::size_t n) {
        if (remaining() < n) {
            return false;
        }
        pos_ += n;
        return true;
    }

    /// A NUL-terminated string; nullopt if no NUL occurs before the end.
    std::optional<std::string_view> cstring() {
        for (std::size_t i = pos_; i < data_.size(); ++i) {
            if (data_[i] == 0) {
                const std::string_view s = asText(data_.subspan(pos_, i - pos_));
                pos_ = i + 1;
                return s;
            }
        }
        return std::nullopt;
    }

private:
    template <typename T>
    std::optional<T> readInt(bool bigEndian) {
        if (remaining() < sizeof(T)) {
            return std::nullopt;
        }
        T v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            std::size_t idx = bigEndian ? i : sizeof(T) - 1 - i;
            v = static_cast<T>((v << 8) | data_[pos_ + idx]);
        }
        pos_ += sizeof(T);
        return v;
    }

    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
};

/// Byte assembly helpers for writers (no casts onto structs).
inline void putU16be(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
inline void putU32be(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
    }
}
inline void putU32le(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
}
inline std::uint32_t getU32be(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

}  // namespace pinet::proto
