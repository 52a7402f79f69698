#include "proto/eeprom/self_update.h"

#include "proto/eeprom/bootconf.h"

namespace pinet::proto::eeprom {

Result<UpdateContent> readUpdateContent(std::span<const std::uint8_t> image) {
    auto layout = parseImage(image);
    if (!layout) {
        return tl::unexpected(layout.error());
    }
    UpdateContent out;
    out.chip = layout->chip();
    if (layout->findForRead("bootconf.txt") != nullptr) {
        auto conf = readFile(image, *layout, "bootconf.txt");
        if (!conf) {
            return tl::unexpected(conf.error());
        }
        out.bootconf.assign(conf->begin(), conf->end());
    }
    return out;
}

bool selfUpdateEnabled(std::string_view config) {
    // Bootloader documentation, FREEZE_VERSION: the bootloader checks it too, and "if set
    // to 1, this overrides ENABLE_SELF_UPDATE to stop automatic updates".
    if (const auto frozen = getKey(config, "FREEZE_VERSION"); frozen && *frozen == "1") {
        return false;
    }
    const auto v = getKey(config, "ENABLE_SELF_UPDATE");
    // Anything but an explicit 0 leaves the documented default (1, on BCM2711 and BCM2712:
    // docs/eeprom-rollout.md) in force.
    return !v || *v != "0";
}

std::optional<std::uint32_t> effectiveBootOrder(std::string_view config) {
    const auto v = getKey(config, "BOOT_ORDER");
    if (!v) {
        return kDefaultBootOrder;
    }
    auto parsed = parseBootOrder(*v);
    if (!parsed) {
        return std::nullopt;
    }
    return *parsed;
}

bool bootOrderNetboots(std::string_view config) {
    const auto order = effectiveBootOrder(config);
    if (!order) {
        return false;
    }
    for (const auto& step : bootOrderSteps(*order)) {
        if (step.nibble == kBootModeNetwork) {
            return true;
        }
    }
    return false;
}

}  // namespace pinet::proto::eeprom
