#pragma once
// `pinetboot eeprom rollout create`: the update a rollout offers, built once with the
// byte-exact `eeprom apply` / `eeprom digest` code (app/eeprom/eeprom.h): pieeprom.upd =
// the image with the new config and the update timestamp (what rpi-eeprom-update does:
// --timestamp on the image, the same value as the .sig's ts:), pieeprom.sig = its digest,
// signed when a key is given. Refuses what `eeprom lint` calls an error and a config that
// would keep the boards from netbooting again (no BOOT_ORDER nibble 2), unless forced.
//
// The SoC (docs/eeprom-rollout.md): the image's size says which (512 KiB BCM2711, 2 MiB
// BCM2712); the .sig carries it as `target-soc:` as rpi-eeprom-update writes it
// (`rpi-eeprom-digest -c`), so a bootloader of the other SoC ignores the update (rpi-eeprom
// release notes 2024-05-17), and the rollout remembers it so that `start` picks only
// boards of that SoC. An image whose SoC cannot be told is refused.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/eeprom/eeprom.h"
#include "proto/eeprom/bootconf.h"

namespace pinet::app::eeprom {

struct RolloutInputs {
    NamedBytes image;
    std::optional<NamedBytes> config;   ///< replaces the image's bootconf.txt
    std::vector<std::string> settings;  ///< KEY=VALUE, applied after config ([all])
    std::uint32_t timestamp = 0;        ///< image update timestamp = the .sig's ts:
    const io::RsaKey* signingKey = nullptr;
    bool force = false;  ///< write despite lint errors or a BOOT_ORDER without network
};

struct RolloutFiles {
    unsigned soc = 0;                                    ///< 2711 or 2712
    std::vector<std::uint8_t> update;                    ///< pieeprom.upd
    std::string sig;                                     ///< pieeprom.sig
    std::string config;                                  ///< the bootconf.txt inside
    std::vector<proto::eeprom::Diagnostic> diagnostics;  ///< lint findings (warnings kept)
    std::vector<std::string> warnings;                   ///< forced past, or worth saying
};

Result<RolloutFiles> buildRolloutFiles(const RolloutInputs& in);

}  // namespace pinet::app::eeprom
