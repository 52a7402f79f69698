#include "proto/text/safe_text.h"

#include <algorithm>
#include <cstdint>

namespace pinet::proto::text {

namespace {

/// Length of the valid UTF-8 sequence at @p s (RFC 3629 section 4), 0 if invalid.
std::size_t sequenceLength(std::string_view s, char32_t& cp) {
    const auto b0 = static_cast<std::uint8_t>(s[0]);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    std::size_t n = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        n = 2;
        cp = b0 & 0x1Fu;
        min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        n = 3;
        cp = b0 & 0x0Fu;
        min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        n = 4;
        cp = b0 & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() < n) {
        return 0;
    }
    for (std::size_t i = 1; i < n; ++i) {
        const auto b = static_cast<std::uint8_t>(s[i]);
        if ((b & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;  // overlong, out of range, or a surrogate
    }
    return n;
}

bool printable(char32_t cp) {
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
        return false;
    }
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
        return false;  // bidi overrides and isolates
    }
    return true;
}

void appendEscaped(std::string& out, std::uint8_t b) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 0x0F];
}

}  // namespace

std::string safeText(std::string_view in, std::size_t maxBytes, Backslash backslash) {
    std::string out;
    out.reserve(std::min(in.size(), maxBytes) + 8);
    std::string piece;
    for (std::size_t i = 0; i < in.size();) {
        char32_t cp = 0;
        const std::size_t n = sequenceLength(in.substr(i), cp);
        piece.clear();
        if (n == 0) {
            // Not UTF-8: this byte escaped, the next one looked at afresh.
            appendEscaped(piece, static_cast<std::uint8_t>(in[i]));
            i += 1;
        } else if (!printable(cp)) {
            for (std::size_t k = 0; k < n; ++k) {
                appendEscaped(piece, static_cast<std::uint8_t>(in[i + k]));
            }
            i += n;
        } else if (cp == '\\' && backslash == Backslash::Escape) {
            piece = "\\\\";
            i += 1;
        } else {
            piece.assign(in.substr(i, n));
            i += n;
        }
        if (out.size() + piece.size() > maxBytes) {
            out += "...";
            return out;
        }
        out += piece;
    }
    return out;
}

bool isSafeText(std::string_view in) {
    for (std::size_t i = 0; i < in.size();) {
        char32_t cp = 0;
        const std::size_t n = sequenceLength(in.substr(i), cp);
        if (n == 0 || !printable(cp) || cp == '\\') {
            return false;
        }
        i += n;
    }
    return true;
}

bool isUtf8Text(std::string_view in) {
    for (std::size_t i = 0; i < in.size();) {
        char32_t cp = 0;
        const std::size_t n = sequenceLength(in.substr(i), cp);
        if (n == 0 || cp == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

}  // namespace pinet::proto::text
