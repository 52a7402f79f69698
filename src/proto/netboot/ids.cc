#include "proto/netboot/ids.h"

#include <cctype>

namespace pinet::proto::netboot {

namespace {
bool isHex(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}
}  // namespace

std::optional<std::string> normalizeSerial(std::string_view s) {
    std::string digits;
    if (s.substr(0, 2) == "0x" || s.substr(0, 2) == "0X") {
        s.remove_prefix(2);
    }
    for (char c : s) {
        if (c == ' ' || c == ':') {
            continue;
        }
        if (!isHex(c)) {
            return std::nullopt;
        }
        digits.push_back(lower(c));
    }
    // /proc/cpuinfo prints 16 digits ("100000009ffefdef"); the bootloader uses the low 8.
    if (digits.size() == 16) {
        digits = digits.substr(8);
    }
    if (digits.size() != 8) {
        return std::nullopt;
    }
    return digits;
}

std::optional<std::string> normalizeMac(std::string_view s) {
    std::string hex;
    for (char c : s) {
        if (c == ':' || c == '-' || c == '.') {
            continue;
        }
        if (!isHex(c)) {
            return std::nullopt;
        }
        hex.push_back(lower(c));
    }
    if (hex.size() != 12) {
        return std::nullopt;
    }
    std::string out;
    for (std::size_t i = 0; i < 12; i += 2) {
        if (!out.empty()) {
            out.push_back(':');
        }
        out += hex.substr(i, 2);
    }
    return out;
}

std::string macPrefixDir(std::string_view mac) {
    std::string out(mac);
    for (char& c : out) {
        if (c == ':') {
            c = '-';
        }
    }
    return out;
}

std::optional<std::string> parseSerialDir(std::string_view c) {
    if (c.size() != 8) {
        return std::nullopt;
    }
    std::string out;
    for (char ch : c) {
        if (!isHex(ch)) {
            return std::nullopt;
        }
        out.push_back(lower(ch));
    }
    return out;
}

std::optional<std::string> parseMacDir(std::string_view c) {
    if (c.size() != 17) {
        return std::nullopt;
    }
    std::string out;
    for (std::size_t i = 0; i < c.size(); ++i) {
        if (i % 3 == 2 ? c[i] != '-' : !isHex(c[i])) {
            return std::nullopt;
        }
        out.push_back(lower(c[i]));
    }
    return out;
}

bool isValidHostLabel(std::string_view s) {
    if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') {
        return false;
    }
    for (char c : s) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-') {
            return false;
        }
    }
    return true;
}

}  // namespace pinet::proto::netboot
