#include "core/boot/board_model.h"

#include <array>
#include <cctype>

namespace pinet::core::boot {

namespace {

int rank(ModelSource s) {
    return static_cast<int>(s);
}

/// 4 for the BCM2711 boards, 5 for the BCM2712 ones, 0 unknown.
int family(BoardModel m) {
    switch (m) {
        case BoardModel::Pi4Family:
        case BoardModel::Pi4B:
        case BoardModel::Pi400:
        case BoardModel::Cm4:
        case BoardModel::Cm4s: return 4;
        case BoardModel::Pi5Family:
        case BoardModel::Pi5:
        case BoardModel::Pi500:
        case BoardModel::Cm5: return 5;
        case BoardModel::Unknown: break;
    }
    return 0;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

bool startsWith(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::optional<BoardModel> modelFromRevision(std::uint32_t revision) {
    // Bit 23 (F): new-style code; bits 4-11: type (revision-codes documentation).
    if ((revision & (1U << 23)) == 0) {
        return std::nullopt;
    }
    switch ((revision >> 4) & 0xffU) {
        case 0x11: return BoardModel::Pi4B;
        case 0x13: return BoardModel::Pi400;
        case 0x14: return BoardModel::Cm4;
        case 0x15: return BoardModel::Cm4s;
        case 0x17: return BoardModel::Pi5;
        case 0x18: return BoardModel::Cm5;
        case 0x19: return BoardModel::Pi500;
        case 0x1a: return BoardModel::Cm5;  // CM5 Lite: the same board for booting
        default: break;
    }
    return std::nullopt;
}

std::optional<BoardModel> modelFromDtb(std::string_view path) {
    const auto slash = path.rfind('/');
    const std::string base = lower(slash == std::string_view::npos ? path : path.substr(slash + 1));
    constexpr std::string_view kExt = ".dtb";
    if (base.size() <= kExt.size() ||
        base.compare(base.size() - kExt.size(), kExt.size(), kExt) != 0) {
        return std::nullopt;
    }
    const std::string_view stem(base.data(), base.size() - kExt.size());
    // BCM2711 (spec §4.3 step 7): the CM4S name before the CM4's, which it extends.
    if (startsWith(stem, "bcm2711-rpi-cm4s")) {
        return BoardModel::Cm4s;
    }
    if (startsWith(stem, "bcm2711-rpi-cm4")) {
        return BoardModel::Cm4;  // bcm2711-rpi-cm4.dtb, bcm2711-rpi-cm4-io.dtb
    }
    if (startsWith(stem, "bcm2711-rpi-400")) {
        return BoardModel::Pi400;
    }
    if (startsWith(stem, "bcm2711-rpi-4-b")) {
        return BoardModel::Pi4B;
    }
    // BCM2712 (spec §4.4), also the D0 stepping's bcm2712d0-*: bcm2712[xx]-rpi-<board>.
    if (startsWith(stem, "bcm2712")) {
        const auto rpi = stem.find("-rpi-");
        if (rpi == std::string_view::npos) {
            return std::nullopt;
        }
        const auto board = stem.substr(rpi + 5);
        if (startsWith(board, "cm5")) {
            return BoardModel::Cm5;  // cm5-cm5io, cm5-cm4io, cm5l-*
        }
        if (startsWith(board, "500")) {
            return BoardModel::Pi500;
        }
        if (startsWith(board, "5-b")) {
            return BoardModel::Pi5;
        }
    }
    return std::nullopt;
}

std::optional<BoardModel> modelFromFourcc(std::string_view fourcc) {
    if (fourcc == "RPi4") {
        return BoardModel::Pi4Family;
    }
    if (fourcc == "RPi5") {
        return BoardModel::Pi5Family;
    }
    return std::nullopt;
}

ModelGuess refineModel(ModelGuess current, ModelGuess sign) {
    if (sign.model == BoardModel::Unknown || rank(sign.source) < rank(current.source)) {
        return current;
    }
    const int have = family(current.model);
    if (have != 0 && family(sign.model) != have) {
        return current;
    }
    // A family sign does not undo a model the same rank already gave.
    if (sign.model == BoardModel::Pi4Family || sign.model == BoardModel::Pi5Family) {
        if (current.model != BoardModel::Unknown && rank(sign.source) == rank(current.source)) {
            return current;
        }
    }
    return sign;
}

std::string_view modelCode(BoardModel m) {
    switch (m) {
        case BoardModel::Pi4Family: return "pi4-family";
        case BoardModel::Pi5Family: return "pi5-family";
        case BoardModel::Pi4B: return "pi4";
        case BoardModel::Pi400: return "pi400";
        case BoardModel::Cm4: return "cm4";
        case BoardModel::Cm4s: return "cm4s";
        case BoardModel::Pi5: return "pi5";
        case BoardModel::Pi500: return "pi500";
        case BoardModel::Cm5: return "cm5";
        case BoardModel::Unknown: break;
    }
    return "";
}

std::string_view modelName(BoardModel m) {
    switch (m) {
        case BoardModel::Pi4Family: return "Pi 4 family";
        case BoardModel::Pi5Family: return "Pi 5 family";
        case BoardModel::Pi4B: return "Pi 4";
        case BoardModel::Pi400: return "Pi 400";
        case BoardModel::Cm4: return "CM4";
        case BoardModel::Cm4s: return "CM4S";
        case BoardModel::Pi5: return "Pi 5";
        case BoardModel::Pi500: return "Pi 500";
        case BoardModel::Cm5: return "CM5";
        case BoardModel::Unknown: break;
    }
    return "";
}

std::optional<BoardModel> parseModelCode(std::string_view code) {
    if (auto f = modelFromFourcc(code)) {
        return f;
    }
    static constexpr std::array kAll = {
        BoardModel::Pi4Family, BoardModel::Pi5Family, BoardModel::Pi4B,
        BoardModel::Pi400,     BoardModel::Cm4,       BoardModel::Cm4s,
        BoardModel::Pi5,       BoardModel::Pi500,     BoardModel::Cm5};
    for (auto m : kAll) {
        if (code == modelCode(m)) {
            return m;
        }
    }
    return std::nullopt;
}

std::string_view toString(ModelSource s) {
    switch (s) {
        case ModelSource::Fourcc: return "dhcp";
        case ModelSource::Registry: return "registry";
        case ModelSource::Dtb: return "dtb";
        case ModelSource::Revision: return "revision";
        case ModelSource::None: break;
    }
    return "";
}

}  // namespace pinet::core::boot
