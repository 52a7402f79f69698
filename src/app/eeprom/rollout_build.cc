#include "app/eeprom/rollout_build.h"

#include <fmt/format.h>

#include "proto/eeprom/image.h"
#include "proto/eeprom/self_update.h"

namespace pinet::app::eeprom {

namespace pe = proto::eeprom;

Result<RolloutFiles> buildRolloutFiles(const RolloutInputs& in) {
    auto layout = pe::parseImage(in.image.bytes);
    if (!layout) {
        return fail(fmt::format("{}: {}", in.image.name, layout.error().message));
    }
    const auto chip = layout->chip();
    if (!chip) {
        return fail(fmt::format(
            "{}: {} bytes is neither a BCM2711 (524288) nor a BCM2712 (2097152) EEPROM image: "
            "a rollout must know which boards' SoC it is for",
            in.image.name, in.image.bytes.size()));
    }
    RolloutFiles out;
    out.soc = *chip == pe::Chip::Bcm2712 ? 2712 : 2711;
    std::string name;
    if (in.config) {
        out.config.assign(in.config->bytes.begin(), in.config->bytes.end());
        name = in.config->name;
    } else {
        auto conf = pe::readFile(in.image.bytes, *layout, "bootconf.txt");
        if (!conf) {
            return fail(fmt::format("{}: no bootconf.txt in the image", in.image.name));
        }
        out.config.assign(conf->begin(), conf->end());
        name = in.image.name + ":bootconf.txt";
    }
    for (const auto& s : in.settings) {
        const auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) {
            return fail(fmt::format("--set '{}' is not KEY=VALUE", s));
        }
        auto next = pe::setKey(out.config, s.substr(0, eq), s.substr(eq + 1));
        if (!next) {
            return fail(fmt::format("--set {}: {}", s, next.error().message));
        }
        out.config = std::move(*next);
    }
    out.diagnostics = pe::lintConfig(out.config);
    if (pe::hasErrors(out.diagnostics)) {
        std::string first;
        for (const auto& d : out.diagnostics) {
            if (d.severity == pe::Severity::Error) {
                first = fmt::format("{}:{}: {}", name, d.line, d.message);
                break;
            }
        }
        if (!in.force) {
            return fail(
                fmt::format("{} (eeprom lint calls it an error; --force to build anyway)", first));
        }
        out.warnings.push_back("forced past a lint error: " + first);
    }
    if (!pe::bootOrderNetboots(out.config)) {
        const auto order = pe::effectiveBootOrder(out.config);
        const std::string why = fmt::format(
            "BOOT_ORDER {} has no network boot (nibble 2): boards flashed with it would not "
            "netboot again, and the rollout could not see them come back",
            order ? fmt::format("0x{:x} ({})", *order, pe::describeBootOrder(*order))
                  : std::string("(invalid)"));
        if (!in.force) {
            return fail(why + "; --force to build anyway");
        }
        out.warnings.push_back("forced: " + why);
    }
    if (auto freeze = pe::getKey(out.config, "FREEZE_VERSION"); freeze && *freeze == "1") {
        // Bootloader documentation, FREEZE_VERSION: "overrides ENABLE_SELF_UPDATE".
        out.warnings.push_back(
            "FREEZE_VERSION=1: boards flashed with this config take no further self-updates "
            "(it overrides ENABLE_SELF_UPDATE)");
    } else if (!pe::selfUpdateEnabled(out.config)) {
        out.warnings.push_back(
            "ENABLE_SELF_UPDATE=0: boards flashed with this config take no further self-updates");
    }
    ApplyOptions opt;
    opt.config = NamedBytes{name, {out.config.begin(), out.config.end()}};
    opt.timestamp = in.timestamp;
    auto update = applyConfig(in.image.bytes, opt);
    if (!update) {
        return fail(fmt::format("{}: {}", in.image.name, update.error().message));
    }
    out.update = std::move(*update);
    DigestOptions d;
    d.timestamp = in.timestamp;
    d.signingKey = in.signingKey;
    d.targetSoc = out.soc;  // as rpi-eeprom-update: rpi-eeprom-digest -c ${BCM_CHIP}
    auto sig = makeDigest(out.update, d);
    if (!sig) {
        return tl::unexpected(sig.error());
    }
    out.sig = std::move(*sig);
    return out;
}

}  // namespace pinet::app::eeprom
