#pragma once
// Append-only byte buffer for building packets and files.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace pinet::proto {

class ByteWriter {
public:
    void u8(std::uint8_t v) { buf_.push_back(v); }
    void u16be(std::uint16_t v) {
        buf_.push_back(static_cast<std::uint8_t>(v >> 8));
        buf_.push_back(static_cast<std::uint8_t>(v));
    }
    void u32be(std::uint32_t v) {
        for (int s = 24; s >= 0; s -= 8) {
            buf_.push_back(static_cast<std::uint8_t>(v >> s));
        }
    }
    void u32le(std::uint32_t v) {
        for (int s = 0; s < 32; s += 8) {
            buf_.push_back(static_cast<std::uint8_t>(v >> s));
        }
    }
    void bytes(std::span<const std::uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
    void str(std::string_view s) { buf_.insert(buf_.end(), s.begin(), s.end()); }
    /// A string followed by its NUL terminator (TFTP, USB file names).
    void cstr(std::string_view s) {
        str(s);
        u8(0);
    }
    void fill(std::size_t n, std::uint8_t v) { buf_.insert(buf_.end(), n, v); }

    [[nodiscard]] std::size_t size() const { return buf_.size(); }
    [[nodiscard]] const std::vector<std::uint8_t>& data() const { return buf_; }
    std::vector<std::uint8_t>& data() { return buf_; }
    std::vector<std::uint8_t> take() { return std::move(buf_); }

private:
    std::vector<std::uint8_t> buf_;
};

}  // namespace pinet::proto
