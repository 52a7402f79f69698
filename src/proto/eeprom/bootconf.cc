#include "proto/eeprom/bootconf.h"

#include "proto/hex.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <map>

#include <fmt/format.h>

#include "proto/eeprom/image.h"

namespace pinet::proto::eeprom {

namespace {

// Spec 1.12 BOOT_ORDER table; 0x8..0xd are unassigned.
constexpr std::array<BootMode, 10> kModes = {{
    {0x0, "SD CARD DETECT", "SD card detect (deprecated)"},
    {0x1, "SD CARD", "SD card"},
    {0x2, "NETWORK", "network"},
    {0x3, "RPIBOOT", "USB device boot (rpiboot)"},
    {0x4, "USB-MSD", "USB mass storage"},
    {0x5, "BCM-USB-MSD", "USB mass storage on the USB 2.0 port"},
    {0x6, "NVME", "NVMe"},
    {0x7, "HTTP", "HTTP"},
    {0xe, "STOP", "stop"},
    {0xf, "RESTART", "restart"},
}};

// BOOT_ORDER is a 32-bit field, one mode per nibble (spec 1.12).
constexpr std::size_t kMaxBootModes = 8;

// Spec 1.12 key list and defaults (eeprom-bootloader.adoc). Ranges are the documented
// minimums/maximums; where none is documented the range only excludes nonsense values.
constexpr std::int64_t kMaxU32 = 0xFFFFFFFFLL;
const KeySpec kKeys[] = {
    {"BOOT_UART", ValueType::Bool, 0, 1, 0, "0", "UART debug output from the bootloader"},
    {"UART_BAUD", ValueType::Int, 9600, 4000000, 0, "115200", "bootloader UART baud rate (Pi 5)"},
    {"WAKE_ON_GPIO", ValueType::Bool, 0, 1, 0, "1", "wake from halt on GPIO3 / power button"},
    {"POWER_OFF_ON_HALT", ValueType::Bool, 0, 1, 0, "0", "switch off power rails on halt"},
    {"WAIT_FOR_POWER_BUTTON", ValueType::Bool, 0, 1, 0, "0", "wait for the power button"},
    {"BOOT_ORDER", ValueType::BootOrder, 0, 0, 0, "0xf41", "boot modes, least significant first"},
    {"BOOT_WATCHDOG_TIMEOUT", ValueType::Int, 0, kMaxU32, 0, "0", "boot watchdog timeout"},
    {"BOOT_WATCHDOG_PARTITION", ValueType::Int, 0, 255, 0, "0", "partition after watchdog reset"},
    {"MAX_RESTARTS", ValueType::Int, -1, kMaxU32, 0, "-1", "RESTART loops before stopping"},
    {"SD_BOOT_MAX_RETRIES", ValueType::Int, -1, kMaxU32, 0, "0", "SD boot retries"},
    {"SD_OVERCURRENT_CHECK", ValueType::Bool, 0, 1, 0, "1", "check SD over-current"},
    {"SD_QUIRKS", ValueType::Int, 0, kMaxU32, 0, "0", "SD card workarounds (bit mask)"},
    {"NET_BOOT_MAX_RETRIES", ValueType::Int, -1, kMaxU32, 0, "0", "network boot retries"},
    {"DHCP_TIMEOUT", ValueType::Int, 5000, kMaxU32, 0, "45000", "DHCP timeout in ms (min 5000)"},
    {"DHCP_REQ_TIMEOUT", ValueType::Int, 500, kMaxU32, 0, "4000",
     "DHCP request retry timeout in ms (min 500)"},
    {"TFTP_FILE_TIMEOUT", ValueType::Int, 5000, kMaxU32, 0, "30000",
     "TFTP per-file timeout in ms (min 5000)"},
    {"TFTP_IP", ValueType::Ip, 0, 0, 0, "", "TFTP server address (overrides DHCP)"},
    {"TFTP_PREFIX", ValueType::Int, 0, 2, 0, "0",
     "TFTP path prefix: 0 serial, 1 TFTP_PREFIX_STR, 2 MAC"},
    {"TFTP_PREFIX_STR", ValueType::String, 0, 0, 32, "", "TFTP path prefix text (max 32)"},
    {"PXE_OPTION43", ValueType::String, 0, 0, 0, "Raspberry Pi Boot", "PXE option 43 match"},
    {"DHCP_OPTION97", ValueType::Hex, 0, kMaxU32, 0, "0x34695052", "DHCP option 97 GUID prefix"},
    {"MAC_ADDRESS", ValueType::Mac, 0, 0, 0, "", "override the Ethernet MAC address"},
    {"MAC_ADDRESS_OTP", ValueType::String, 0, 0, 0, "", "OTP rows holding the MAC address"},
    {"CLIENT_IP", ValueType::Ip, 0, 0, 0, "", "static client address"},
    {"SUBNET", ValueType::Ip, 0, 0, 0, "", "static subnet mask"},
    {"GATEWAY", ValueType::Ip, 0, 0, 0, "", "static gateway"},
    {"DISABLE_HDMI", ValueType::Bool, 0, 1, 0, "0", "no HDMI diagnostics screen"},
    {"HDMI_DELAY", ValueType::Int, 0, 255, 0, "5", "seconds before the diagnostics screen"},
    // Default 1 on BCM2711 (bootloader configuration page, ENABLE_SELF_UPDATE: "Default:
    // 1") and on BCM2712 (no other default documented; rpi-eeprom relies on it for Pi 5):
    // docs/eeprom-rollout.md has the sources.
    {"ENABLE_SELF_UPDATE", ValueType::Bool, 0, 1, 0, "1", "bootloader self-update from boot fs"},
    {"FREEZE_VERSION", ValueType::Bool, 0, 1, 0, "0", "refuse automatic updates"},
    {"HTTP_HOST", ValueType::String, 0, 0, 0, "fw-download-alias1.raspberrypi.com",
     "HTTP boot / network install host"},
    {"HTTP_PORT", ValueType::Int, 1, 65535, 0, "443", "HTTP boot port (443 https, 80 http)"},
    {"HTTP_PATH", ValueType::String, 0, 0, 0, "net_install", "HTTP boot path"},
    {"IMAGER_REPO_URL", ValueType::String, 0, 0, 0, "", "Imager repository for net install"},
    {"NET_INSTALL_ENABLED", ValueType::Bool, 0, 1, 0, "1", "network install (0 on CMs)"},
    {"NET_INSTALL_AT_POWER_ON", ValueType::Bool, 0, 1, 0, "0", "offer net install at power on"},
    {"NET_INSTALL_KEYBOARD_WAIT", ValueType::Int, 0, kMaxU32, 0, "900",
     "ms to wait for the net install key"},
    {"NETCONSOLE", ValueType::String, 0, 0, 32, "", "UDP log target (max 32)"},
    {"PARTITION", ValueType::Int, 0, 255, 0, "0", "boot partition number"},
    {"PARTITION_WALK", ValueType::Bool, 0, 1, 0, "0", "try every FAT partition"},
    {"BOOTVAR0", ValueType::Int, 0, kMaxU32, 0, "0", "value for [bootvar0] filters"},
    {"PSU_MAX_CURRENT", ValueType::Int, 0, 10000, 0, "", "PSU current limit in mA (Pi 5)"},
    {"USB_MSD_EXCLUDE_VID_PID", ValueType::VidPidList, 0, 0, 0, "",
     "USB devices to skip (<= 4 VVVVPPPP pairs)"},
    {"USB_MSD_DISCOVER_TIMEOUT", ValueType::Int, 5000, kMaxU32, 0, "20000",
     "USB device discovery timeout in ms (min 5000)"},
    {"USB_MSD_LUN_TIMEOUT", ValueType::Int, 100, kMaxU32, 0, "2000",
     "USB LUN timeout in ms (min 100)"},
    {"USB_MSD_PWR_OFF_TIME", ValueType::Int, 0, 5000, 0, "1000", "USB power off time in ms"},
    {"USB_MSD_STARTUP_DELAY", ValueType::Int, 0, 30000, 0, "0", "delay before USB boot in ms"},
    {"VL805", ValueType::Bool, 0, 1, 0, "0", "CM4: load VL805 firmware from EEPROM"},
    {"XHCI_DEBUG", ValueType::Int, 0, kMaxU32, 0, "0", "XHCI debug bit mask"},
    {"SDRAM_BANKLOW", ValueType::Int, 0, 15, 0, "", "SDRAM bank interleave"},
    {"SIGNED_BOOT", ValueType::Bool, 0, 1, 0, "0", "secure boot: require signed boot.img"},
    {"USB_DEV_BOOT_MAX_RETRIES", ValueType::Int, -1, kMaxU32, 0, "",
     "rpiboot retries (undocumented, from recovery.bin)"},
    {"USB_DEV_FILE_TIMEOUT", ValueType::Int, 0, kMaxU32, 0, "",
     "rpiboot file timeout (undocumented, from recovery.bin)"},
};

// A typo suggestion is offered within this many edits (e.g. BOOT_ODER -> BOOT_ORDER).
constexpr std::size_t kMaxSuggestDistance = 3;

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
        s.remove_suffix(1);
    }
    return s;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::optional<unsigned> hexDigit(char c) {
    const int v = hexDigitValue(c);
    return v < 0 ? std::nullopt : std::optional<unsigned>(static_cast<unsigned>(v));
}

/// "0x..." with 1..maxDigits hex digits.
std::optional<std::uint64_t> parseHex(std::string_view s, std::size_t maxDigits) {
    if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
        return std::nullopt;
    }
    s.remove_prefix(2);
    if (s.size() > maxDigits) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (char c : s) {
        auto d = hexDigit(c);
        if (!d) {
            return std::nullopt;
        }
        v = (v << 4) | *d;
    }
    return v;
}

/// Decimal (optionally negative) or 0x hex, as the bootloader's integer parser accepts.
std::optional<std::int64_t> parseInt(std::string_view s) {
    if (auto h = parseHex(s, 8)) {
        return static_cast<std::int64_t>(*h);
    }
    bool neg = false;
    if (!s.empty() && s.front() == '-') {
        neg = true;
        s.remove_prefix(1);
    }
    if (s.empty() || s.size() > 12) {
        return std::nullopt;
    }
    std::int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + (c - '0');
    }
    return neg ? -v : v;
}

bool isIpv4(std::string_view s) {
    int parts = 0;
    while (true) {
        std::size_t dot = s.find('.');
        std::string_view p = s.substr(0, dot);
        if (p.empty() || p.size() > 3 ||
            !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return false;
        }
        int v = 0;
        for (char c : p) {
            v = v * 10 + (c - '0');
        }
        if (v > 255) {
            return false;
        }
        ++parts;
        if (dot == std::string_view::npos) {
            break;
        }
        s.remove_prefix(dot + 1);
    }
    return parts == 4;
}

bool isMac(std::string_view s) {
    if (s.size() != 17) {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i % 3 == 2 ? s[i] != ':' : !hexDigit(s[i])) {
            return false;
        }
    }
    return true;
}

/// Checks @p value against @p spec; returns the problem, or nullopt when valid.
std::optional<std::string> checkValue(const KeySpec& spec, std::string_view value) {
    switch (spec.type) {
        case ValueType::Bool:
            if (value != "0" && value != "1") {
                return fmt::format("'{}' must be 0 or 1", value);
            }
            return std::nullopt;
        case ValueType::Int: {
            auto v = parseInt(value);
            if (!v) {
                return fmt::format("'{}' is not a number", value);
            }
            if (*v < spec.min || *v > spec.max) {
                return fmt::format("{} is outside {}..{}", value, spec.min, spec.max);
            }
            return std::nullopt;
        }
        case ValueType::Hex:
            if (!parseHex(value, 8)) {
                return fmt::format("'{}' is not a 32-bit hex number (0x...)", value);
            }
            return std::nullopt;
        case ValueType::BootOrder: {
            auto r = parseBootOrder(value);
            if (!r) {
                return r.error().message;
            }
            return std::nullopt;
        }
        case ValueType::Ip:
            if (!isIpv4(value)) {
                return fmt::format("'{}' is not an IPv4 address", value);
            }
            return std::nullopt;
        case ValueType::Mac:
            if (!isMac(value)) {
                return fmt::format("'{}' is not a MAC address (xx:xx:xx:xx:xx:xx)", value);
            }
            return std::nullopt;
        case ValueType::String:
            if (spec.maxLen != 0 && value.size() > spec.maxLen) {
                return fmt::format("value is {} characters, the maximum is {}", value.size(),
                                   spec.maxLen);
            }
            return std::nullopt;
        case ValueType::VidPidList: {
            std::size_t count = 0;
            std::string_view rest = value;
            while (!rest.empty()) {
                std::size_t comma = rest.find(',');
                std::string_view item = trim(rest.substr(0, comma));
                if (item.size() != 8 ||
                    !std::all_of(item.begin(), item.end(), [](char c) { return hexDigit(c); })) {
                    return fmt::format("'{}' is not a VVVVPPPP hex pair", item);
                }
                ++count;
                rest =
                    comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            }
            if (count > 4) {
                return fmt::format("{} VID/PID pairs, the maximum is 4", count);
            }
            return std::nullopt;
        }
    }
    return std::nullopt;
}

/// One line split from its ending.
struct Line {
    std::string_view text;
    std::string_view eol;
};

std::vector<Line> splitLines(std::string_view text) {
    std::vector<Line> out;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        if (nl == std::string_view::npos) {
            out.push_back({text, {}});
            break;
        }
        std::size_t end = nl;
        if (end > 0 && text[end - 1] == '\r') {
            --end;
        }
        out.push_back({text.substr(0, end), text.substr(end, nl + 1 - end)});
        text.remove_prefix(nl + 1);
    }
    return out;
}

enum class LineKind { Blank, Comment, Filter, Setting, Other, ConfigTxt };

struct Classified {
    LineKind kind = LineKind::Blank;
    std::string section;  ///< filter name in effect (lowercase, "all" at the top)
    std::string_view key;
    std::string_view value;
};

/// Classifies every line and tracks the filter section it belongs to.
std::vector<Classified> classify(const std::vector<Line>& lines) {
    std::vector<Classified> out;
    std::string section = "all";
    bool inConfigTxt = false;
    for (const auto& l : lines) {
        Classified c;
        std::string_view t = trim(l.text);
        if (inConfigTxt) {
            c.kind = LineKind::ConfigTxt;
        } else if (t.empty()) {
            c.kind = LineKind::Blank;
        } else if (t.front() == '#') {
            c.kind = LineKind::Comment;
        } else if (t.front() == '[' && t.back() == ']') {
            c.kind = LineKind::Filter;
            section = lower(trim(t.substr(1, t.size() - 2)));
            if (section == "config.txt") {
                inConfigTxt = true;  // everything to EOF goes to the OS config.txt (spec 1.12)
            }
        } else if (auto eq = t.find('='); eq != std::string_view::npos && eq > 0) {
            c.kind = LineKind::Setting;
            c.key = trim(t.substr(0, eq));
            c.value = trim(t.substr(eq + 1));
        } else {
            c.kind = LineKind::Other;
        }
        c.section = section;
        out.push_back(std::move(c));
    }
    return out;
}

bool validKeyName(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
    });
}

}  // namespace

std::optional<BootMode> bootMode(unsigned nibble) {
    for (const auto& m : kModes) {
        if (m.nibble == nibble) {
            return m;
        }
    }
    return std::nullopt;
}

Result<std::uint32_t> parseBootOrder(std::string_view text) {
    text = trim(text);
    if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
        return fail(fmt::format("BOOT_ORDER '{}' is not a hex number (0x...)", text));
    }
    std::string_view digits = text.substr(2);
    // Leading zero digits do not add modes; count only significant digits.
    std::size_t firstSig = digits.find_first_not_of('0');
    std::size_t sig = firstSig == std::string_view::npos ? 0 : digits.size() - firstSig;
    std::uint32_t value = 0;
    for (char c : digits) {
        auto d = hexDigit(c);
        if (!d) {
            return fail(fmt::format("BOOT_ORDER '{}' is not a hex number (0x...)", text));
        }
        value = (value << 4) | *d;
        if (sig > kMaxBootModes) {
            break;
        }
    }
    if (sig > kMaxBootModes) {
        return fail(
            fmt::format("BOOT_ORDER '{}' has more than {} modes (32 bits)", text, kMaxBootModes));
    }
    for (std::size_t i = 0; i < sig; ++i) {
        unsigned nibble = (value >> (4 * i)) & 0xF;
        if (!bootMode(nibble)) {
            return fail(
                fmt::format("BOOT_ORDER '{}': unknown boot mode 0x{:x} (digit {} from the "
                            "right)",
                            text, nibble, i + 1));
        }
    }
    return value;
}

std::vector<BootMode> bootOrderSteps(std::uint32_t value) {
    std::vector<BootMode> out;
    do {
        unsigned nibble = value & 0xF;
        out.push_back(bootMode(nibble).value_or(BootMode{nibble, "UNKNOWN", "unknown mode"}));
        value >>= 4;
    } while (value != 0);
    return out;
}

std::string describeBootOrder(std::uint32_t value) {
    std::string out;
    for (const auto& m : bootOrderSteps(value)) {
        if (!out.empty()) {
            out += ", then ";
        }
        out += m.words;
        if (m.nibble == 0xe || m.nibble == 0xf) {
            break;  // later modes are never reached
        }
    }
    return out;
}

std::span<const KeySpec> knownKeys() {
    return kKeys;
}

const KeySpec* findKey(std::string_view name) {
    for (const auto& k : kKeys) {
        if (k.name == name) {
            return &k;
        }
    }
    return nullptr;
}

namespace {
/// Levenshtein distance, giving up (returning limit + 1) once every cell of a row exceeds
/// @p limit: the distance can only grow from there.
std::size_t boundedEditDistance(std::string_view a, std::string_view b, std::size_t limit) {
    std::vector<std::size_t> prev(b.size() + 1);
    std::vector<std::size_t> cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        prev[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        std::size_t rowMin = cur[0];
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
            rowMin = std::min(rowMin, cur[j]);
        }
        if (rowMin > limit) {
            return limit + 1;
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}
}  // namespace

std::size_t editDistance(std::string_view a, std::string_view b) {
    return boundedEditDistance(a, b, SIZE_MAX - 1);
}

std::optional<std::string_view> nearestKey(std::string_view name) {
    const std::string u = upper(name);
    std::optional<std::string_view> best;
    std::size_t bestDist = kMaxSuggestDistance + 1;
    for (const auto& k : kKeys) {
        // The distance is at least the length difference: skip hopeless pairs (and keep
        // lint linear on long garbage lines).
        const std::size_t lenDiff =
            u.size() > k.name.size() ? u.size() - k.name.size() : k.name.size() - u.size();
        if (lenDiff > kMaxSuggestDistance) {
            continue;
        }
        std::size_t d = boundedEditDistance(u, k.name, kMaxSuggestDistance);
        if (d < bestDist) {
            bestDist = d;
            best = k.name;
        }
    }
    return best;
}

std::vector<Diagnostic> lintConfig(std::string_view text) {
    std::vector<Diagnostic> out;
    if (text.size() > kMaxFileSize) {
        out.push_back({Severity::Error, 0,
                       fmt::format("config is {} bytes; the maximum is {} bytes (one 4 KiB "
                                   "block minus the 20-byte header)",
                                   text.size(), kMaxFileSize)});
    }
    const auto lines = splitLines(text);
    const auto cls = classify(lines);
    // (section, key) -> first line, for duplicate detection.
    std::map<std::pair<std::string, std::string>, std::size_t> seen;
    for (std::size_t i = 0; i < cls.size(); ++i) {
        const auto& c = cls[i];
        const std::size_t lineNo = i + 1;
        if (c.kind == LineKind::Other) {
            out.push_back({Severity::Warning, lineNo,
                           fmt::format("'{}' is not a KEY=value line, comment or [filter]",
                                       trim(lines[i].text))});
            continue;
        }
        if (c.kind != LineKind::Setting) {
            continue;
        }
        auto [it, inserted] = seen.emplace(std::make_pair(c.section, std::string(c.key)), lineNo);
        if (!inserted) {
            out.push_back({Severity::Warning, lineNo,
                           fmt::format("{} is set again in [{}] (first on line {}); the last "
                                       "value wins",
                                       c.key, c.section, it->second)});
        }
        const KeySpec* spec = findKey(c.key);
        if (spec == nullptr) {
            auto near = nearestKey(c.key);
            out.push_back({Severity::Warning, lineNo,
                           near ? fmt::format("unknown key {} (did you mean {}?)", c.key, *near)
                                : fmt::format("unknown key {}", c.key)});
            continue;
        }
        if (c.value.empty() && spec->type != ValueType::String) {
            out.push_back({Severity::Error, lineNo, fmt::format("{}: empty value", c.key)});
            continue;
        }
        if (auto problem = checkValue(*spec, c.value)) {
            // parseBootOrder messages already name the key.
            out.push_back({Severity::Error, lineNo,
                           spec->type == ValueType::BootOrder
                               ? *problem
                               : fmt::format("{}: {}", c.key, *problem)});
            continue;
        }
        if (spec->type == ValueType::BootOrder) {
            auto steps = bootOrderSteps(*parseBootOrder(c.value));
            for (std::size_t s = 0; s + 1 < steps.size(); ++s) {
                if (steps[s].nibble == 0xe || steps[s].nibble == 0xf) {
                    out.push_back({Severity::Warning, lineNo,
                                   fmt::format("BOOT_ORDER {}: modes after {} are never tried",
                                               c.value, steps[s].name)});
                    break;
                }
                if (steps[s].nibble == 0x3) {
                    out.push_back({Severity::Warning, lineNo,
                                   fmt::format("BOOT_ORDER {}: RPIBOOT has no timeout; put it "
                                               "last",
                                               c.value)});
                    break;
                }
            }
        }
    }
    return out;
}

bool hasErrors(const std::vector<Diagnostic>& diags) {
    return std::any_of(diags.begin(), diags.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

std::optional<std::string> getKey(std::string_view text, std::string_view key,
                                  std::string_view section) {
    const auto lines = splitLines(text);
    const auto cls = classify(lines);
    const std::string sect = lower(trim(section));
    std::optional<std::string> out;
    for (const auto& c : cls) {
        if (c.kind == LineKind::Setting && c.section == sect && c.key == key) {
            out = std::string(c.value);
        }
    }
    return out;
}

Result<std::string> setKey(std::string_view text, std::string_view key, std::string_view value,
                           std::string_view section) {
    if (!validKeyName(key)) {
        return fail(fmt::format("'{}' is not a valid key name", key));
    }
    if (value.find_first_of("\r\n") != std::string_view::npos) {
        return fail(fmt::format("the value for {} contains a line break", key));
    }
    const std::string sect = lower(trim(section));
    if (sect.empty() || sect.find_first_of("[]\r\n") != std::string::npos) {
        return fail(fmt::format("'{}' is not a valid section name", section));
    }
    auto lines = splitLines(text);
    const auto cls = classify(lines);
    const std::string newLine = fmt::format("{}={}", key, value);
    // The file's line ending for added lines: the first one seen, else LF.
    std::string_view eol = "\n";
    for (const auto& l : lines) {
        if (!l.eol.empty()) {
            eol = l.eol;
            break;
        }
    }

    // 1. Rewrite the last KEY line of this section.
    for (std::size_t i = cls.size(); i-- > 0;) {
        if (cls[i].kind == LineKind::Setting && cls[i].section == sect && cls[i].key == key) {
            std::string out;
            for (std::size_t j = 0; j < lines.size(); ++j) {
                out += j == i ? std::string_view(newLine) : lines[j].text;
                out += lines[j].eol;
            }
            return out;
        }
    }

    // 2. Find the last block of this section before [config.txt]; insert after its last
    //    setting (or its filter line). The implicit top block counts as "all".
    std::size_t editableEnd = cls.size();
    for (std::size_t i = 0; i < cls.size(); ++i) {
        if (cls[i].kind == LineKind::Filter && cls[i].section == "config.txt") {
            editableEnd = i;
            break;
        }
    }
    std::optional<std::size_t> insertAt;  // index of the line to insert before
    bool needHeader = true;
    {
        std::size_t blockStart = 0;
        std::string blockSect = "all";
        bool topBlock = true;
        auto consider = [&](std::size_t start, std::size_t end, bool top) {
            if (blockSect != sect) {
                return;
            }
            std::size_t pos = top ? start : start + 1;  // after the filter line
            for (std::size_t k = start; k < end; ++k) {
                if (cls[k].kind == LineKind::Setting || cls[k].kind == LineKind::Other) {
                    pos = k + 1;
                }
            }
            if (top && pos == start) {
                // Empty top block: only usable if nothing but it exists (no filters at all).
                if (end != editableEnd) {
                    return;
                }
                pos = end;
            }
            insertAt = pos;
            needHeader = false;
        };
        for (std::size_t i = 0; i < editableEnd; ++i) {
            if (cls[i].kind == LineKind::Filter) {
                consider(blockStart, i, topBlock);
                blockStart = i;
                blockSect = cls[i].section;
                topBlock = false;
            }
        }
        consider(blockStart, editableEnd, topBlock);
    }
    if (!insertAt) {
        insertAt = editableEnd;
    }
    std::vector<std::string> added;
    if (needHeader) {
        added.push_back(fmt::format("[{}]", sect));
    }
    added.push_back(newLine);

    std::string out;
    for (std::size_t j = 0; j <= lines.size(); ++j) {
        if (j == *insertAt) {
            if (j > 0 && lines[j - 1].eol.empty()) {
                out += eol;  // the previous last line had no line break
            }
            for (const auto& a : added) {
                out += a;
                out += eol;
            }
        }
        if (j < lines.size()) {
            out += lines[j].text;
            out += lines[j].eol;
        }
    }
    return out;
}

}  // namespace pinet::proto::eeprom
