#include "proto/netboot/boot_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include <fmt/format.h>

namespace pinet::proto::netboot {

namespace {

constexpr std::array<PiBoard, 7> kBoards = {PiBoard::Pi4,  PiBoard::Pi400, PiBoard::Cm4,
                                            PiBoard::Cm4s, PiBoard::Pi5,   PiBoard::Pi500,
                                            PiBoard::Cm5};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

bool hasControl(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && u != '\t') || u == 0x7f;
    });
}

/// The filter types of conditional.adoc: one of a type replaces the last of the same
/// type, and every type's last must hold for a setting to apply.
enum FilterType : std::size_t { Model, Tryboot, Serial, Gpio, Edid, Hdmi, Other, kTypes };

struct Filters {
    std::array<bool, kTypes> holds{};  ///< per type, true when no filter of it is set
    bool none = false;
    Filters() { holds.fill(true); }
    [[nodiscard]] bool active() const {
        return !none && std::all_of(holds.begin(), holds.end(), [](bool b) { return b; });
    }
};

/// Whether the model filter @p name (no brackets) names @p b; nullopt for
/// names that are not model filters.
std::optional<bool> modelFilter(std::string_view name, PiBoard b) {
    const bool pi4 =
        b == PiBoard::Pi4 || b == PiBoard::Pi400 || b == PiBoard::Cm4 || b == PiBoard::Cm4s;
    if (name == "pi4") {
        return pi4;
    }
    if (name == "pi400") {
        return b == PiBoard::Pi400;
    }
    if (name == "cm4") {
        return b == PiBoard::Cm4;
    }
    if (name == "cm4s") {
        return b == PiBoard::Cm4s;
    }
    if (name == "pi5") {
        return isPi5Family(b);
    }
    if (name == "pi500") {
        return b == PiBoard::Pi500;
    }
    if (name == "cm5") {
        return b == PiBoard::Cm5;
    }
    // Older boards: never one pinetboot boots this way (netboot-protocol.md 4.3).
    for (const char* old : {"pi0", "pi0w", "pi02", "pi1", "pi2", "pi3", "pi3+", "cm0"}) {
        if (name == old) {
            return false;
        }
    }
    return std::nullopt;
}

/// The board type of the new-style revision code (bits 4-11), as core/boot/board_model.
unsigned boardType(PiBoard b) {
    switch (b) {
        case PiBoard::Pi4: return 0x11;
        case PiBoard::Pi400: return 0x13;
        case PiBoard::Cm4: return 0x14;
        case PiBoard::Cm4s: return 0x15;
        case PiBoard::Pi5: return 0x17;
        case PiBoard::Cm5: return 0x18;
        case PiBoard::Pi500: return 0x19;
    }
    return 0;
}

std::optional<unsigned long> parseHex(std::string_view s) {
    if (s.size() < 3 || s.size() > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
        return std::nullopt;
    }
    unsigned long v = 0;
    for (char c : s.substr(2)) {
        int d = std::isxdigit(static_cast<unsigned char>(c)) == 0 ? -1
                : std::isdigit(static_cast<unsigned char>(c)) != 0
                    ? c - '0'
                    : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
        if (d < 0) {
            return std::nullopt;
        }
        v = (v << 4) | static_cast<unsigned long>(d);
    }
    return v;
}

struct Evaluator {
    const BootFiles& files;
    const BoardContext& ctx;
    BootSettings out;
    Filters filters;
    std::size_t lines = 0;
    bool truncatedNoted = false;

    void note(std::string n) {
        // Bounded like everything else: a hostile file could otherwise make one per line.
        if (out.notes.size() < 32) {
            out.notes.push_back(std::move(n));
        }
    }

    void section(std::string_view body) {
        // Filter names are case-sensitive, as property names (pibootctl's config.txt
        // notes); the hex of [0xSERIAL] and [board-type=] is not.
        const std::string name(trim(body));
        if (name == "all") {
            filters = Filters{};
            return;
        }
        if (name == "none") {
            filters.none = true;
            return;
        }
        if (auto m = modelFilter(name, ctx.board)) {
            filters.holds[Model] = *m;
            return;
        }
        if (name == "tryboot") {
            filters.holds[Tryboot] = ctx.tryboot;
            return;
        }
        if (name.rfind("board-type=", 0) == 0) {
            auto v = parseHex(name.substr(11));
            filters.holds[Model] = v && *v == boardType(ctx.board);
            return;
        }
        if (auto v = parseHex(name)) {
            // [0x12345678]: the serial's last 8 hex digits (conditional.adoc).
            auto serial = ctx.serial.empty() ? std::nullopt : parseHex("0x" + ctx.serial);
            filters.holds[Serial] = serial && (*v & 0xffffffffUL) == (*serial & 0xffffffffUL);
            if (!serial) {
                note(fmt::format("[{}] needs the board's serial: assumed not to match", name));
            }
            return;
        }
        if (name.rfind("gpio", 0) == 0) {
            // Pin levels are the board's: a server cannot know them.
            filters.holds[Gpio] = false;
            note(fmt::format("[{}] depends on a GPIO level: assumed not to match", name));
            return;
        }
        if (name.rfind("EDID=", 0) == 0) {
            filters.holds[Edid] = false;
            note(fmt::format("[{}] depends on the monitor: assumed not to match", name));
            return;
        }
        if (name.rfind("HDMI:", 0) == 0) {
            // Selects the HDMI port later HDMI settings are for; boot files are not.
            filters.holds[Hdmi] = true;
            return;
        }
        filters.holds[Other] = false;
        note(fmt::format("[{}] is not a filter pinetboot knows: assumed not to match", name));
    }

    /// A name from config.txt made relative (a leading '/' bypasses prefixes); "" if unsafe.
    static std::string_view stripRoot(std::string_view v) {
        while (!v.empty() && v.front() == '/') {
            v.remove_prefix(1);
        }
        return v;
    }

    Result<void> setting(std::string_view key, std::string_view value) {
        const std::string v(value);
        if (key == "os_prefix") {
            out.osPrefix = v;
        } else if (key == "overlay_prefix") {
            out.overlayPrefix = v;
        } else if (key == "cmdline") {
            out.cmdline = v;
        } else if (key == "kernel") {
            out.kernel = v;
        } else if (key == "device_tree") {
            out.deviceTree = v;
        } else if (key == "ramfsfile") {
            out.initramfs = splitNames(v);
        } else if (key == "auto_initramfs") {
            out.autoInitramfs = v == "1";
        } else if (key == "arm_64bit") {
            out.arm64 = v != "0";
        } else if (key == "upstream_kernel") {
            out.upstreamKernel = v == "1";
        }
        return {};
    }

    static std::vector<std::string> splitNames(std::string_view list) {
        std::vector<std::string> names;
        while (!list.empty()) {
            auto comma = list.find(',');
            auto n = trim(list.substr(0, comma));
            if (!n.empty()) {
                names.emplace_back(n);
            }
            if (comma == std::string_view::npos) {
                break;
            }
            list.remove_prefix(comma + 1);
        }
        return names;
    }

    Result<void> file(const std::string& path, int depth) {
        if (out.configFiles.size() >= kMaxBootConfigFiles) {
            note(fmt::format("include {}: more than {} config files, not read", path,
                             kMaxBootConfigFiles));
            return {};
        }
        auto text = files.read(path);
        if (!text) {
            if (depth > 0) {
                note(fmt::format("include {}: no such file", path));
            }
            return {};
        }
        if (text->size() > kMaxBootConfigBytes) {
            return fail(fmt::format("{} is larger than {} KiB: not a config file", path,
                                    kMaxBootConfigBytes / 1024));
        }
        out.configFiles.push_back(path);
        std::string_view rest(*text);
        while (!rest.empty()) {
            if (++lines > kMaxBootConfigLines) {
                return fail(fmt::format("{}: more than {} lines in the config files", path,
                                        kMaxBootConfigLines));
            }
            auto nl = rest.find('\n');
            std::string_view line = rest.substr(0, nl);
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
            if (line.size() > kBootConfigLineChars) {
                line = line.substr(0, kBootConfigLineChars);
                if (!truncatedNoted) {
                    truncatedNoted = true;
                    note(
                        fmt::format("{}: a line longer than {} characters was cut there, as "
                                    "the firmware does",
                                    path, kBootConfigLineChars));
                }
            }
            line = trim(line);
            if (line.empty() || line.front() == '#') {
                continue;
            }
            if (hasControl(line)) {
                note(fmt::format("{}: a line with control bytes was ignored", path));
                continue;
            }
            if (line.front() == '[') {
                auto close = line.find(']');
                if (close == std::string_view::npos) {
                    note(fmt::format("{}: a filter without ']' was ignored", path));
                    continue;
                }
                section(line.substr(1, close - 1));
                continue;
            }
            auto eq = line.find('=');
            auto sp = line.find_first_of(" \t");
            if (sp != std::string_view::npos && (eq == std::string_view::npos || sp < eq)) {
                // The space-separated commands: `include FILE`, `initramfs FILE ADDR`.
                auto cmd = line.substr(0, sp);
                auto arg = trim(line.substr(sp));
                if (cmd == "include") {
                    // Inserted in place (what_is_config_txt.adoc): the filters in force
                    // carry into and out of the included text.
                    auto name = std::string(stripRoot(arg));
                    if (!isSafeBootPath(name)) {
                        return fail(fmt::format("{}: include {} leaves the boot partition", path,
                                                std::string(arg)));
                    }
                    if (depth + 1 > kMaxBootConfigDepth) {
                        note(fmt::format("include {}: nested deeper than {}, not read", name,
                                         kMaxBootConfigDepth));
                        continue;
                    }
                    if (auto r = file(name, depth + 1); !r) {
                        return r;
                    }
                    continue;
                }
                if (cmd == "initramfs" && filters.active()) {
                    auto end = arg.find_first_of(" \t");
                    out.initramfs = splitNames(arg.substr(0, end));
                }
                if (eq == std::string_view::npos) {
                    continue;
                }
            }
            if (eq == std::string_view::npos || !filters.active()) {
                continue;
            }
            if (auto r = setting(trim(line.substr(0, eq)), trim(line.substr(eq + 1))); !r) {
                return r;
            }
        }
        return {};
    }
};

/// @p name under @p prefix; a leading '/' bypasses the prefix (boot.adoc).
std::string joinPrefix(std::string_view prefix, std::string_view name) {
    if (!name.empty() && name.front() == '/') {
        return std::string(Evaluator::stripRoot(name));
    }
    return std::string(prefix) + std::string(name);
}

/// auto_initramfs: kernel8.img -> initramfs8, kernel_2712.img -> initramfs_2712.
std::optional<std::string> autoInitramfsFor(std::string_view kernel) {
    auto slash = kernel.rfind('/');
    std::string_view dir = slash == std::string_view::npos ? "" : kernel.substr(0, slash + 1);
    std::string_view base = slash == std::string_view::npos ? kernel : kernel.substr(slash + 1);
    if (base.rfind("kernel", 0) != 0 || base.size() < 10 ||
        base.substr(base.size() - 4) != ".img") {
        return std::nullopt;
    }
    return std::string(dir) + "initramfs" + std::string(base.substr(6, base.size() - 10));
}

}  // namespace

std::optional<PiBoard> parsePiBoard(std::string_view code) {
    for (auto b : kBoards) {
        if (piBoardCode(b) == code) {
            return b;
        }
    }
    return std::nullopt;
}

std::string_view piBoardCode(PiBoard board) {
    switch (board) {
        case PiBoard::Pi4: return "pi4";
        case PiBoard::Pi400: return "pi400";
        case PiBoard::Cm4: return "cm4";
        case PiBoard::Cm4s: return "cm4s";
        case PiBoard::Pi5: return "pi5";
        case PiBoard::Pi500: return "pi500";
        case PiBoard::Cm5: return "cm5";
    }
    return "";
}

std::span<const PiBoard> allPiBoards() {
    return kBoards;
}

std::string_view defaultDtb(PiBoard board) {
    switch (board) {
        case PiBoard::Pi4: return "bcm2711-rpi-4-b.dtb";
        case PiBoard::Pi400: return "bcm2711-rpi-400.dtb";
        case PiBoard::Cm4: return "bcm2711-rpi-cm4.dtb";
        case PiBoard::Cm4s: return "bcm2711-rpi-cm4s.dtb";
        // D0-stepping Pi 5s ask for bcm2712d0-rpi-5-b.dtb first (spec 4.4); the B0 name is
        // what every Pi 5 image ships.
        case PiBoard::Pi5: return "bcm2712-rpi-5-b.dtb";
        case PiBoard::Pi500: return "bcm2712-rpi-500.dtb";
        case PiBoard::Cm5: return "bcm2712-rpi-cm5-cm5io.dtb";
    }
    return "";
}

bool isPi5Family(PiBoard board) {
    return board == PiBoard::Pi5 || board == PiBoard::Pi500 || board == PiBoard::Cm5;
}

bool isSafeBootPath(std::string_view path) {
    if (path.empty() || path.size() > kMaxBootPathChars || path.front() == '/' ||
        hasControl(path) || path.find('\\') != std::string_view::npos ||
        path.find('\t') != std::string_view::npos) {
        return false;
    }
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        auto part = path.substr(start, end == std::string_view::npos ? end : end - start);
        if (part.empty() || part == "." || part == "..") {
            return false;
        }
        if (end == std::string_view::npos) {
            break;
        }
        start = end + 1;
    }
    return true;
}

Result<BootSettings> evaluateBootConfig(const BootFiles& files, const BoardContext& ctx) {
    Evaluator ev{files, ctx, {}, {}, 0, false};
    ev.out.configFile = "config.txt";
    if (ctx.tryboot) {
        if (files.exists("tryboot.txt")) {
            ev.out.configFile = "tryboot.txt";
        } else {
            ev.note("no tryboot.txt: config.txt is read, with [tryboot] sections in force");
        }
    }
    if (auto r = ev.file(ev.out.configFile, 0); !r) {
        return tl::unexpected(r.error());
    }
    ev.out.configFound = !ev.out.configFiles.empty();
    if (!ev.out.configFound) {
        ev.note(ev.out.configFile + " is missing: the firmware's defaults apply");
    }
    return std::move(ev.out);
}

Result<BootChain> resolveBootChain(const BootFiles& files, const BoardContext& ctx) {
    auto settings = evaluateBootConfig(files, ctx);
    if (!settings) {
        return tl::unexpected(settings.error());
    }
    BootChain c;
    c.settings = std::move(*settings);
    const BootSettings& s = c.settings;
    auto checked = [&](const std::string& p, std::string_view what) -> Result<std::string> {
        if (!isSafeBootPath(p)) {
            return fail(fmt::format("{}: {} \"{}\" is not a path inside the boot partition",
                                    s.configFile, what, p));
        }
        return p;
    };
    std::vector<std::string> kernels;
    if (s.kernel && !s.kernel->empty()) {
        kernels.push_back(*s.kernel);
    } else if (isPi5Family(ctx.board)) {
        kernels = {"kernel_2712.img", "kernel8.img"};
    } else if (s.arm64 && !*s.arm64) {
        kernels = {"kernel7l.img"};
    } else {
        kernels = {"kernel8.img"};
    }
    const std::string dtbName =
        s.deviceTree && !s.deviceTree->empty() ? *s.deviceTree : std::string(defaultDtb(ctx.board));
    if (s.osPrefix) {
        c.requestedPrefix = *s.osPrefix;
    } else if (s.upstreamKernel) {
        c.requestedPrefix = "upstream/";
    }
    // The first kernel name that exists under @p prefix, or "" (boot.adoc: the firmware
    // tries the model's names in turn, netboot-protocol.md 4.4).
    auto kernelUnder = [&](const std::string& prefix) -> Result<std::string> {
        for (const auto& k : kernels) {
            auto p = checked(joinPrefix(prefix, k), "kernel");
            if (!p) {
                return p;
            }
            if (files.exists(*p)) {
                return p;
            }
        }
        return std::string();
    };
    if (!c.requestedPrefix.empty()) {
        auto k = kernelUnder(c.requestedPrefix);
        if (!k) {
            return tl::unexpected(k.error());
        }
        auto d = checked(joinPrefix(c.requestedPrefix, dtbName), "device tree");
        if (!d) {
            return tl::unexpected(d.error());
        }
        if (!k->empty() && files.exists(*d)) {
            c.osPrefix = c.requestedPrefix;
        } else {
            c.settings.notes.push_back(fmt::format(
                "os_prefix={} is ignored by the firmware: {} is missing", c.requestedPrefix,
                k->empty() ? joinPrefix(c.requestedPrefix, kernels.front()) : *d));
        }
    }
    auto k = kernelUnder(c.osPrefix);
    if (!k) {
        return tl::unexpected(k.error());
    }
    c.kernelFound = !k->empty();
    if (c.kernelFound) {
        c.kernel = *k;
    } else {
        auto first = checked(joinPrefix(c.osPrefix, kernels.front()), "kernel");
        if (!first) {
            return tl::unexpected(first.error());
        }
        c.kernel = *first;
    }
    auto dtb = checked(joinPrefix(c.osPrefix, dtbName), "device tree");
    if (!dtb) {
        return tl::unexpected(dtb.error());
    }
    c.dtb = *dtb;
    c.dtbFound = files.exists(c.dtb);
    auto cmd = checked(
        joinPrefix(c.osPrefix, s.cmdline && !s.cmdline->empty() ? *s.cmdline : "cmdline.txt"),
        "cmdline");
    if (!cmd) {
        return tl::unexpected(cmd.error());
    }
    c.cmdline = *cmd;
    c.cmdlineFound = files.exists(c.cmdline);
    if (s.initramfs) {
        for (const auto& n : *s.initramfs) {
            auto p = checked(joinPrefix(c.osPrefix, n), "initramfs");
            if (!p) {
                return tl::unexpected(p.error());
            }
            c.initramfs.push_back(*p);
        }
    } else if (s.autoInitramfs) {
        if (auto n = autoInitramfsFor(c.kernel); n && isSafeBootPath(*n) && files.exists(*n)) {
            c.initramfs.push_back(*n);
        }
    }
    const std::string overlays =
        s.overlayPrefix && !s.overlayPrefix->empty() ? *s.overlayPrefix : "overlays/";
    const std::string prefixed = joinPrefix(c.osPrefix, overlays);
    if (!c.osPrefix.empty() && isSafeBootPath(prefixed + "README") &&
        files.exists(prefixed + "README")) {
        c.overlayDir = prefixed;
    } else {
        c.overlayDir = std::string(Evaluator::stripRoot(overlays));
    }
    return c;
}

}  // namespace pinet::proto::netboot
