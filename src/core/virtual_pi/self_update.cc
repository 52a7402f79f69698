#include "core/virtual_pi/self_update.h"

#include <fmt/format.h>

#include "proto/eeprom/self_update.h"
#include "proto/eeprom/sig.h"

namespace pinet::core::virtual_pi {

namespace pe = proto::eeprom;

SigDecision decideOnSig(const EepromState& current, std::string_view sigText, unsigned boardSoc) {
    SigDecision d;
    auto sig = pe::parseSig(sigText);
    if (!sig) {
        d.text = "pieeprom.sig ignored: " + sig.error().message;
        return d;
    }
    if (boardSoc != 0 && sig->targetSoc && *sig->targetSoc != boardSoc) {
        d.text = fmt::format("pieeprom.sig ignored: target-soc {} is not this board's {}",
                             *sig->targetSoc, boardSoc);
        return d;
    }
    d.offeredTs = sig->timestamp;
    if (sig->timestamp) {
        if (*sig->timestamp > current.timestamp) {
            d.action = SigAction::FetchUpdate;
            d.text = fmt::format("pieeprom.sig ts {} is newer than the EEPROM's {}: update",
                                 *sig->timestamp, current.timestamp);
        } else {
            d.text = fmt::format("pieeprom.sig ts {}, EEPROM ts {}: up to date", *sig->timestamp,
                                 current.timestamp);
        }
        return d;
    }
    if (!current.sha256Hex.empty() && current.sha256Hex == sig->sha256Hex) {
        d.text = "pieeprom.sig without ts names the image flashed last: up to date";
        return d;
    }
    d.action = SigAction::FetchUpdate;
    d.text = "pieeprom.sig without ts and a different image: update";
    return d;
}

FlashOutcome checkAndFlash(const EepromState& current, std::span<const std::uint8_t> update,
                           std::string_view sigText, const UpdateVerifier& verify,
                           unsigned boardSoc) {
    FlashOutcome out;
    out.next = current;
    auto sig = pe::parseSig(sigText);
    if (!sig) {
        out.text = "pieeprom.upd refused: pieeprom.sig: " + sig.error().message;
        return out;
    }
    std::string detail = "sha256 not checked";
    if (verify) {
        const std::string problem = verify(update, sigText, detail);
        if (!problem.empty()) {
            out.text = "pieeprom.upd refused: " + problem;
            return out;
        }
    }
    auto content = pe::readUpdateContent(update);
    if (!content) {
        out.text = "pieeprom.upd refused: not an EEPROM image: " + content.error().message;
        return out;
    }
    if (boardSoc != 0 && content->chip &&
        pe::chipName(*content->chip) != fmt::format("{}", boardSoc)) {
        out.text = fmt::format("pieeprom.upd refused: a BCM{} image, this board is BCM{}",
                               pe::chipName(*content->chip), boardSoc);
        return out;
    }
    out.flashed = true;
    out.next.timestamp = sig->timestamp.value_or(current.timestamp);
    out.next.config = std::move(content->bootconf);
    out.next.sha256Hex = sig->sha256Hex;
    out.text = fmt::format("pieeprom.upd ({} bytes, {}) flashed: EEPROM ts {} -> {}", update.size(),
                           detail, current.timestamp, out.next.timestamp);
    return out;
}

}  // namespace pinet::core::virtual_pi
