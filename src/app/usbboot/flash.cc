#include "app/usbboot/flash.h"

#include <algorithm>

#include <fmt/format.h>

#include "app/eeprom/eeprom.h"
#include "io/crypto.h"
#include "io/file.h"
#include "proto/eeprom/bootconf.h"
#include "proto/eeprom/image.h"
#include "proto/usbboot/messages.h"

namespace pinet::app {

namespace fs = std::filesystem;
namespace pu = proto::usbboot;
namespace pe = proto::eeprom;

namespace {

/// Newest firmware-<chip>/default/pieeprom-YYYY-MM-DD.bin: names carry the
/// release date, so the lexicographic maximum is the newest release.
Result<fs::path> newestImage(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return fail(fmt::format("{}: not a directory (is --firmware-dir an rpi-eeprom checkout?)",
                                dir.string()));
    }
    fs::path best;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const auto name = e.path().filename().string();
        if (name.rfind("pieeprom-", 0) == 0 && e.path().extension() == ".bin" &&
            e.is_regular_file()) {
            if (best.empty() || name > best.filename().string()) {
                best = e.path();
            }
        }
    }
    if (ec) {
        return fail(fmt::format("{}: {}", dir.string(), ec.message()));
    }
    if (best.empty()) {
        return fail(fmt::format("{}: no pieeprom-*.bin found", dir.string()));
    }
    return best;
}

/// " line N", or nothing for whole-file diagnostics (line 0).
std::string lineRef(std::size_t line) {
    return line == 0 ? std::string() : fmt::format(" line {}", line);
}

std::string shortSha(const std::string& hex) {
    return hex.substr(0, 16);
}

}  // namespace

std::string recoveryConfigTxt() {
    return "# Written by pinetboot flash for the recovery second stage (recovery.bin).\n"
           "# Bootloader messages on UART (GPIO 14/15, 115200 baud).\n"
           "uart_2ndstage=1\n"
           "# Report board facts (serial, MAC, EEPROM_UPDATE) back over USB.\n"
           "recovery_metadata=1\n";
}

Result<FlashPlan> prepareFlash(const FlashInputs& in) {
    FlashPlan plan;
    if (in.chip != 0 && in.chip != 2711 && in.chip != 2712) {
        return fail(fmt::format("--chip must be 2711 or 2712, not {}", in.chip));
    }
    plan.chip = in.chip != 0 ? in.chip : 2711;
    const fs::path fwDefault = in.firmwareDir / fmt::format("firmware-{}", plan.chip) / "default";

    // The EEPROM image.
    if (!in.image.empty()) {
        plan.imagePath = in.image;
    } else if (!in.firmwareDir.empty()) {
        auto p = newestImage(fwDefault);
        if (!p) {
            return tl::unexpected(p.error());
        }
        plan.imagePath = *p;
    } else {
        return fail("no EEPROM image: give --image FILE or --firmware-dir RPI_EEPROM_CHECKOUT");
    }
    auto image = eeprom::loadImage(plan.imagePath);
    if (!image) {
        return tl::unexpected(image.error());
    }
    const auto imageChip = image->layout.chip();
    if (imageChip) {
        const unsigned fromSize = pe::chipName(*imageChip) == "2712" ? 2712 : 2711;
        if (in.chip == 0) {
            plan.chip = fromSize;
        } else if (in.chip != fromSize) {
            return fail(fmt::format("{}: a {} image, but --chip {} was given",
                                    plan.imagePath.string(), fromSize, in.chip));
        }
    }

    // The recovery second stage, served to the ROM as bootcode4.bin / bootcode5.bin.
    if (!in.bootcode.empty()) {
        plan.bootcodePath = in.bootcode;
    } else if (!in.firmwareDir.empty()) {
        plan.bootcodePath =
            in.firmwareDir / fmt::format("firmware-{}", plan.chip) / "default" / "recovery.bin";
    } else {
        return fail(
            "no recovery second stage: give --bootcode FILE (recovery.bin) or "
            "--firmware-dir RPI_EEPROM_CHECKOUT");
    }
    auto bootcode = io::readFile(plan.bootcodePath);
    if (!bootcode) {
        return tl::unexpected(bootcode.error());
    }
    if (auto problem = recoveryBinProblem(*bootcode, plan.chip); problem && !in.force) {
        return fail(
            fmt::format("{}: {}; --force sends it anyway", plan.bootcodePath.string(), *problem));
    } else if (problem) {
        plan.warnings.push_back(
            fmt::format("{}: {} (sent anyway: --force)", plan.bootcodePath.string(), *problem));
    }

    // The config: --config, else the image's own bootconf.txt; then --set edits.
    std::vector<std::uint8_t> configBytes;
    if (!in.config.empty()) {
        auto c = io::readFile(in.config);
        if (!c) {
            return tl::unexpected(c.error());
        }
        configBytes = std::move(*c);
        plan.configSource = in.config.string();
    } else {
        auto c = pe::readFile(image->bytes, image->layout, "bootconf.txt");
        if (!c) {
            return fail(fmt::format("{}: {}", plan.imagePath.string(), c.error().message));
        }
        configBytes.assign(c->begin(), c->end());
        plan.configSource = "the image's own bootconf.txt";
    }
    plan.configText.assign(configBytes.begin(), configBytes.end());
    for (const auto& [key, value] : in.sets) {
        // Same editor as `pinetboot eeprom set` ([all] section).
        auto edited = pe::setKey(plan.configText, key, value);
        if (!edited) {
            return fail(fmt::format("--set {}={}: {}", key, value, edited.error().message));
        }
        plan.configText = std::move(*edited);
        plan.configSource += fmt::format(" + {}={}", key, value);
    }
    if (!in.sets.empty()) {
        configBytes.assign(plan.configText.begin(), plan.configText.end());
    }
    // Refuse configs `pinetboot eeprom apply` would refuse (bad values), unless forced.
    for (const auto& d : pe::lintConfig(plan.configText)) {
        if (d.severity == pe::Severity::Error && !in.force) {
            return fail(fmt::format("config ({}){}: {} (--force flashes it anyway)",
                                    plan.configSource, lineRef(d.line), d.message));
        }
        if (d.severity == pe::Severity::Warning) {
            plan.warnings.push_back(fmt::format("config{}: {}", lineRef(d.line), d.message));
        }
    }

    // pieeprom.bin + pieeprom.sig, exactly as `eeprom apply` + `eeprom digest`
    // (usbboot tools/update-pieeprom.sh: no target-soc line).
    std::optional<io::RsaKey> key;
    if (!in.keyPem.empty()) {
        auto k = io::RsaKey::loadPemFile(in.keyPem);
        if (!k) {
            return tl::unexpected(k.error());
        }
        if (!k->hasPrivate()) {
            return fail(fmt::format("{}: a private key is needed to sign pieeprom.bin",
                                    in.keyPem.string()));
        }
        key = std::move(*k);
        plan.signedSig = true;
    }
    auto ts = eeprom::defaultTimestamp();
    if (!ts) {
        return tl::unexpected(ts.error());
    }
    plan.sigTimestamp = *ts;
    eeprom::RecoveryOptions ro;
    ro.config = eeprom::NamedBytes{plan.configSource, configBytes};
    ro.sigTimestamp = plan.sigTimestamp;
    ro.signingKey = key ? &*key : nullptr;
    auto files = eeprom::buildRecoveryFiles(image->bytes, ro);
    if (!files) {
        return tl::unexpected(files.error());
    }
    plan.pieepromSha256 = io::sha256Hex(files->pieepromBin);
    const std::uint16_t product = plan.chip == 2712 ? pu::kProduct2712 : pu::kProduct2711;
    plan.files[std::string(pu::secondStageName(product))] = std::move(*bootcode);
    const auto cfg = recoveryConfigTxt();
    plan.files["config.txt"] = std::vector<std::uint8_t>(cfg.begin(), cfg.end());
    plan.files["pieeprom.bin"] = std::move(files->pieepromBin);
    plan.files["pieeprom.sig"] =
        std::vector<std::uint8_t>(files->pieepromSig.begin(), files->pieepromSig.end());
    return plan;
}

Result<void> writeRecoveryFolder(const FlashPlan& plan, const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return fail(fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));
    }
    for (const auto& [name, data] : plan.files) {
        if (auto w = io::writeFileAtomic(dir / name, data); !w) {
            return w;
        }
    }
    return {};
}

std::string recoveryBinSource(unsigned chip) {
    return fmt::format(
        "recovery.bin comes from Raspberry Pi's rpi-eeprom (the rpi-eeprom package on "
        "Raspberry Pi OS: /lib/firmware/raspberrypi/bootloader-{0}/default/recovery.bin; a "
        "checkout of github.com/raspberrypi/rpi-eeprom: firmware-{0}/default/recovery.bin, "
        "which --firmware-dir reads) or raspberrypi/usbboot (firmware/{0}/recovery.bin)",
        chip);
}

std::optional<std::string> recoveryBinProblem(std::span<const std::uint8_t> data, unsigned chip) {
    if (data.empty()) {
        return "an empty file is not a recovery.bin; " + recoveryBinSource(chip);
    }
    // An EEPROM image starts with its bootcode section, magic 0x55AAF00F (spec
    // eeprom-usbboot.md 1.2): the other file of the pair, given in the wrong place.
    if (data.size() >= 4) {
        const std::uint32_t magic = (std::uint32_t{data[0]} << 24) |
                                    (std::uint32_t{data[1]} << 16) | (std::uint32_t{data[2]} << 8) |
                                    std::uint32_t{data[3]};
        if ((magic & 0xFFFFF00FU) == 0x55AAF00FU) {
            return "this is a bootloader EEPROM image (pieeprom-*.bin: give it as --image), not "
                   "the recovery second stage; " +
                   recoveryBinSource(chip);
        }
    }
    // recovery.bin asks the host for pieeprom.sig / pieeprom.bin / pieeprom.upd by name
    // (spec 2.9: "Files named in recovery.bin"); a second stage that never names them cannot
    // flash anything.
    static constexpr std::string_view kName = "pieeprom";
    const auto* begin = reinterpret_cast<const char*>(data.data());
    const std::string_view text(begin, data.size());
    if (text.find(kName) == std::string_view::npos) {
        return fmt::format(
            "does not look like a recovery.bin ({} bytes that never name pieeprom.bin or "
            "pieeprom.sig, the files the real one asks for over USB); {}",
            data.size(), recoveryBinSource(chip));
    }
    return std::nullopt;
}

std::string describePlan(const FlashPlan& plan, const fs::path& folder) {
    const std::uint16_t product = plan.chip == 2712 ? pu::kProduct2712 : pu::kProduct2711;
    std::string out = fmt::format("plan: flash BCM{} EEPROMs over USB\n", plan.chip);
    out += fmt::format("  image:        {}\n", plan.imagePath.string());
    out += fmt::format("  second stage: {} -> {} ({} bytes)\n", plan.bootcodePath.string(),
                       pu::secondStageName(product),
                       plan.files.at(std::string(pu::secondStageName(product))).size());
    out += fmt::format("  config:       {}\n", plan.configSource);
    std::string cfg = plan.configText;
    std::size_t pos = 0;
    while (pos < cfg.size()) {
        auto nl = cfg.find('\n', pos);
        if (nl == std::string::npos) {
            nl = cfg.size();
        }
        out += fmt::format("    | {}\n", cfg.substr(pos, nl - pos));
        pos = nl + 1;
    }
    for (const auto& w : plan.warnings) {
        out += fmt::format("  warning: {}\n", w);
    }
    out += fmt::format("  pieeprom.bin: {} bytes, sha256 {}\n",
                       plan.files.at("pieeprom.bin").size(), plan.pieepromSha256);
    out += fmt::format("  pieeprom.sig: ts {}{}\n", plan.sigTimestamp,
                       plan.signedSig ? ", rsa2048 signature" : "");
    out += fmt::format("  recovery folder: {}\n", folder.string());
    for (const auto& [name, data] : plan.files) {
        out += fmt::format("    {} ({} bytes)\n", name, data.size());
    }
    out +=
        "  then: serve the folder to every board in USB boot mode "
        "(nRPIBOOT jumper / button held at power-on)\n";
    return out;
}

std::vector<BoardFlashResult> flashResults(const RunSummary& summary, const FlashPlan& plan) {
    std::vector<BoardFlashResult> out;
    for (const auto& s : summary.sessions) {
        if (s.stage == pu::Stage::Rom && s.ok) {
            continue;  // the board's result comes with its second-stage session
        }
        BoardFlashResult r;
        r.location = s.device.location;
        r.serial = s.serial;
        if (s.stage == pu::Stage::Rom) {
            const std::string_view chip = pu::chipPrefix(s.device.product);
            if (chip != std::to_string(plan.chip) && (chip == "2711" || chip == "2712")) {
                // The folder only has the other chip's second stage and image.
                r.message = fmt::format(
                    "skipped: a BCM{} board, but this run flashes BCM{} images (run again with "
                    "--chip {})",
                    chip, plan.chip, chip);
                out.push_back(std::move(r));
                continue;
            }
            r.message = "failed in the ROM stage: " + s.error;
            out.push_back(std::move(r));
            continue;
        }
        const auto* server = s.server ? &*s.server : nullptr;
        const auto* bin = server != nullptr ? server->sentFile("pieeprom.bin") : nullptr;
        if (bin != nullptr) {
            r.flashed = fmt::format("pieeprom.bin {} bytes sha256 {}", bin->size,
                                    shortSha(plan.pieepromSha256));
        }
        const auto update = server != nullptr ? server->metadataValue("EEPROM_UPDATE")
                                              : std::optional<std::string>();
        if (!s.ok) {
            r.message = "failed: " + s.error;
        } else if (bin == nullptr) {
            r.message = "failed: the board never read pieeprom.bin";
        } else if (update && *update != "success") {
            r.message = "failed: the board reported EEPROM_UPDATE=" + *update;
        } else {
            r.ok = true;
            r.message = update ? "flashed, board reported EEPROM_UPDATE=success"
                               : "image sent; the board sent no EEPROM_UPDATE report "
                                 "(check its LED/UART)";
        }
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace pinet::app
