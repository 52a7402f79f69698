#include "proto/eeprom/sig.h"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "proto/hex.h"

namespace pinet::proto::eeprom {

namespace {

constexpr std::size_t kSha256HexLen = 64;

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
        s.remove_suffix(1);
    }
    return s;
}

template <typename T>
std::optional<T> parseDecimal(std::string_view s) {
    T v{};
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

std::string formatSig(const SigFile& sig) {
    std::string out = sig.sha256Hex + "\n";
    if (sig.timestamp) {
        out += fmt::format("ts: {}\n", *sig.timestamp);
    }
    if (sig.targetSoc) {
        out += fmt::format("target-soc: {}\n", *sig.targetSoc);
    }
    if (sig.rsa2048) {
        out += "rsa2048: " + toHex(*sig.rsa2048) + "\n";
    }
    return out;
}

Result<SigFile> parseSig(std::string_view text) {
    SigFile sig;
    bool first = true;
    std::size_t lineNo = 0;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++lineNo;
        if (first) {
            first = false;
            auto bytes = fromHex(line);
            if (line.size() != kSha256HexLen || !bytes) {
                return fail("line 1 is not a sha256 hex digest");
            }
            sig.sha256Hex = toHex(*bytes);  // normalise to lowercase
            continue;
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        std::string_view key = trim(line.substr(0, colon));
        std::string_view value = trim(line.substr(colon + 1));
        if (key == "ts") {
            sig.timestamp = parseDecimal<std::uint64_t>(value);
            if (!sig.timestamp) {
                return fail(fmt::format("line {}: bad ts value '{}'", lineNo, value));
            }
        } else if (key == "target-soc") {
            sig.targetSoc = parseDecimal<unsigned>(value);
            if (!sig.targetSoc) {
                return fail(fmt::format("line {}: bad target-soc value '{}'", lineNo, value));
            }
        } else if (key == "rsa2048") {
            auto bytes = fromHex(value);
            if (!bytes || bytes->size() != kRsa2048SigLen) {
                return fail(
                    fmt::format("line {}: rsa2048 is not {} bytes of hex", lineNo, kRsa2048SigLen));
            }
            sig.rsa2048 = std::move(*bytes);
        }
    }
    if (first) {
        return fail("empty signature file");
    }
    return sig;
}

}  // namespace pinet::proto::eeprom
