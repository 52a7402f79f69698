#include "proto/usbboot/messages.h"

#include <algorithm>
#include <cstring>

#include "proto/byte_reader.h"

namespace pinet::proto::usbboot {

bool isBootProduct(std::uint16_t vendor, std::uint16_t product) {
    if (vendor != kVendorBroadcom) {
        return false;
    }
    return product == kProduct2835 || product == kProduct2837 || product == kProduct2711 ||
           product == kProduct2712;
}

Stage stageFromSerialIndex(std::uint8_t iSerialNumber) {
    // Spec 2.1 (usbboot PR #63): 0 = BCM2835/6/7 ROM, 3 = BCM2711/2712 ROM,
    // anything else = a second stage that wants the file server.
    if (iSerialNumber == 0 || iSerialNumber == 3) {
        return Stage::Rom;
    }
    return Stage::SecondStage;
}

const char* stageName(Stage stage) {
    return stage == Stage::Rom ? "rom" : "second-stage";
}

std::string_view secondStageName(std::uint16_t product) {
    switch (product) {
        case kProduct2711: return "bootcode4.bin";
        case kProduct2712: return "bootcode5.bin";
        default: return "bootcode.bin";
    }
}

std::string_view chipPrefix(std::uint16_t product) {
    switch (product) {
        case kProduct2711: return "2711";
        case kProduct2712: return "2712";
        default: return "2710";
    }
}

std::array<std::uint8_t, kBootMessageSize> encodeBootMessage(
    std::uint32_t secondStageLength, std::span<const std::uint8_t, kSignatureSize> signature) {
    std::array<std::uint8_t, kBootMessageSize> out{};
    putU32le(out.data(), secondStageLength);
    std::copy(signature.begin(), signature.end(), out.begin() + 4);
    return out;
}

std::array<std::uint8_t, kBootMessageSize> encodeBootMessage(std::uint32_t secondStageLength) {
    const std::array<std::uint8_t, kSignatureSize> zero{};
    return encodeBootMessage(secondStageLength, zero);
}

Result<BootMessage> decodeBootMessage(std::span<const std::uint8_t> bytes) {
    if (bytes.size() != kBootMessageSize) {
        return fail("boot message must be 24 bytes, got " + std::to_string(bytes.size()));
    }
    ByteReader r(bytes);
    BootMessage msg;
    msg.length = *r.u32le();
    auto sig = *r.bytes(kSignatureSize);
    std::copy(sig.begin(), sig.end(), msg.signature.begin());
    if (msg.length > kMaxFileSize) {
        return fail("boot message length " + std::to_string(msg.length) + " is negative as int32");
    }
    return msg;
}

const char* requestErrorName(RequestError e) {
    switch (e) {
        case RequestError::Short: return "short";
        case RequestError::Unterminated: return "unterminated-name";
    }
    return "unknown";
}

tl::expected<FileRequest, RequestError> decodeFileRequest(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    auto cmd = r.u32le();
    if (!cmd) {
        return tl::unexpected(RequestError::Short);
    }
    // Only the 256-byte name field counts; anything beyond 260 bytes is ignored.
    auto field = r.rest().first(std::min(r.remaining(), kNameFieldSize));
    ByteReader nameReader(field);
    auto name = nameReader.cstring();
    if (!name) {
        return tl::unexpected(RequestError::Unterminated);
    }
    FileRequest req;
    req.command = static_cast<std::int32_t>(*cmd);
    req.name = std::string(*name);
    return req;
}

std::array<std::uint8_t, kRequestSize> encodeFileRequest(std::int32_t command,
                                                         std::string_view name) {
    std::array<std::uint8_t, kRequestSize> out{};
    putU32le(out.data(), static_cast<std::uint32_t>(command));
    const std::size_t n = std::min(name.size(), kNameFieldSize - 1);
    std::memcpy(out.data() + 4, name.data(), n);
    return out;
}

bool isMetadataRequest(const FileRequest& req) {
    return !req.name.empty() && req.name.front() == '*' &&
           req.command != static_cast<std::int32_t>(Command::Done);
}

std::optional<MetadataEntry> parseMetadata(std::string_view name) {
    if (name.size() < 2 || name.front() != '*') {
        return std::nullopt;
    }
    name.remove_prefix(1);
    const auto star = name.find('*');
    if (star == std::string_view::npos || star == 0) {
        return std::nullopt;
    }
    return MetadataEntry{std::string(name.substr(0, star)), std::string(name.substr(star + 1))};
}

namespace {

void appendJsonString(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c >= 0x7f) {
            // Control and non-ASCII bytes: the device sends ASCII; anything
            // else is escaped so that the file is always valid JSON.
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        } else {
            out += ch;
        }
    }
    out += '"';
}

}  // namespace

std::string metadataJson(std::span<const MetadataEntry> entries) {
    std::string out = "{";
    bool first = true;
    for (const auto& e : entries) {
        if (!first) {
            out += ',';
        }
        first = false;
        out += "\n\t";
        appendJsonString(out, e.key);
        out += ": ";
        appendJsonString(out, e.value);
    }
    out += "\n}\n";
    return out;
}

SetupPacket setupForWrite(std::uint32_t length) {
    return SetupPacket{kRequestTypeOut, 0, static_cast<std::uint16_t>(length & 0xffff),
                       static_cast<std::uint16_t>(length >> 16), 0};
}

SetupPacket setupForRead(std::uint16_t length) {
    return SetupPacket{kRequestTypeIn, 0, length, 0, length};
}

std::array<std::uint8_t, 8> encodeSetup(const SetupPacket& s) {
    return {s.requestType,
            s.request,
            static_cast<std::uint8_t>(s.value & 0xff),
            static_cast<std::uint8_t>(s.value >> 8),
            static_cast<std::uint8_t>(s.index & 0xff),
            static_cast<std::uint8_t>(s.index >> 8),
            static_cast<std::uint8_t>(s.length & 0xff),
            static_cast<std::uint8_t>(s.length >> 8)};
}

std::uint32_t setupLength(const SetupPacket& s) {
    return std::uint32_t{s.value} | (std::uint32_t{s.index} << 16);
}

}  // namespace pinet::proto::usbboot
