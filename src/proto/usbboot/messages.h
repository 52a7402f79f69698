#pragma once
// rpiboot (usbboot) wire format: identities, the boot message, the
// second-stage file-server request, metadata records and the setup packets
// that carry lengths. Pure: bytes in, values out; errors are values.
// Spec: shared/spec/eeprom-usbboot.md Part 2.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::usbboot {

/// Broadcom vendor id; every boot ROM and second stage uses it (spec 2.1).
inline constexpr std::uint16_t kVendorBroadcom = 0x0a5c;
/// Product ids rpiboot accepts (spec 2.1).
inline constexpr std::uint16_t kProduct2835 = 0x2763;  ///< BCM2835/6/7 ROM ("BCM2708 Boot")
inline constexpr std::uint16_t kProduct2837 = 0x2764;  ///< BCM2837 with mass-storage interface
inline constexpr std::uint16_t kProduct2711 = 0x2711;  ///< BCM2711 (Pi 4, CM4)
inline constexpr std::uint16_t kProduct2712 = 0x2712;  ///< BCM2712 (Pi 5, CM5)

/// True for the four product ids above.
bool isBootProduct(std::uint16_t vendor, std::uint16_t product);

/// What the device is running, chosen by iSerialNumber index (spec 2.1).
enum class Stage {
    Rom,          ///< boot ROM: wants the second stage (index 0 or 3)
    SecondStage,  ///< bootcode/recovery running: wants the file server (any other index)
};
Stage stageFromSerialIndex(std::uint8_t iSerialNumber);
const char* stageName(Stage stage);

/// Second-stage file name the ROM wants, by product id (spec 2.1):
/// bootcode4.bin (2711), bootcode5.bin (2712), bootcode.bin (others).
std::string_view secondStageName(std::uint16_t product);
/// Directory prefix for per-chip lookups (spec 2.1/2.6): "2711", "2712", "2710".
std::string_view chipPrefix(std::uint16_t product);

/// Boot message: int32 LE length + 20-byte signature (spec 2.4).
inline constexpr std::size_t kBootMessageSize = 24;
inline constexpr std::size_t kSignatureSize = 20;
/// Builds the boot message; @p signature is all zero for 2711/2712 (spec 2.4).
std::array<std::uint8_t, kBootMessageSize> encodeBootMessage(
    std::uint32_t secondStageLength, std::span<const std::uint8_t, kSignatureSize> signature);
/// The boot message with a zero signature.
std::array<std::uint8_t, kBootMessageSize> encodeBootMessage(std::uint32_t secondStageLength);

struct BootMessage {
    std::uint32_t length = 0;
    std::array<std::uint8_t, kSignatureSize> signature{};
};
/// Decodes a boot message (device side, used by the simulator and fuzzer).
Result<BootMessage> decodeBootMessage(std::span<const std::uint8_t> bytes);

/// File-server request: int32 LE command + 256-byte NUL-terminated name (spec 2.5).
inline constexpr std::size_t kNameFieldSize = 256;
inline constexpr std::size_t kRequestSize = 4 + kNameFieldSize;  // 260

/// Command codes (spec 2.5).
enum class Command : std::int32_t { GetFileSize = 0, ReadFile = 1, Done = 2 };

struct FileRequest {
    std::int32_t command = 0;  ///< raw; may be outside Command (the server rejects it)
    std::string name;          ///< up to the first NUL, at most 255 characters
};

/// Why a request could not be decoded. Counted by reason by the server.
enum class RequestError {
    Short,         ///< fewer than 4 bytes
    Unterminated,  ///< no NUL in the name field
};
const char* requestErrorName(RequestError e);

/// Decodes a request. The name ends at the first NUL inside the 256-byte
/// field; bytes after it are ignored (stale buffer content, spec 2.3). A reply
/// shorter than 260 bytes is accepted if it holds a NUL-terminated name.
tl::expected<FileRequest, RequestError> decodeFileRequest(std::span<const std::uint8_t> bytes);
/// Encodes a request (device side: simulator, fuzz seeds). Names longer than
/// 255 bytes are truncated so that the NUL always fits.
std::array<std::uint8_t, kRequestSize> encodeFileRequest(std::int32_t command,
                                                         std::string_view name);

/// A `*KEY*VALUE` metadata record (spec 2.7).
struct MetadataEntry {
    std::string key;
    std::string value;
};
/// True if the server must treat this request as metadata: the name starts
/// with '*' and the command is not Done (spec 2.5 step 3).
bool isMetadataRequest(const FileRequest& req);
/// Parses `*KEY*VALUE`; nullopt if the name has no second '*' or an empty key.
std::optional<MetadataEntry> parseMetadata(std::string_view name);
/// The metadata JSON document rpiboot writes (spec 2.7): "{", then per entry
/// "\n\t\"KEY\": \"VALUE\"" separated by ",", then "\n}\n". Strings are JSON
/// escaped (rpiboot does not escape; the values it sees never need it).
std::string metadataJson(std::span<const MetadataEntry> entries);
/// USB setup packet fields (USB 2.0 spec 9.3) for rpiboot's vendor requests.
struct SetupPacket {
    std::uint8_t requestType = 0;
    std::uint8_t request = 0;
    std::uint16_t value = 0;
    std::uint16_t index = 0;
    std::uint16_t length = 0;
};
/// bmRequestType of the host-to-device vendor control transfer (spec 2.3).
inline constexpr std::uint8_t kRequestTypeOut = 0x40;
/// bmRequestType of the device-to-host vendor control transfer (spec 2.3).
inline constexpr std::uint8_t kRequestTypeIn = 0xc0;
/// Control OUT that announces @p length bytes (or a file size): wValue = low
/// 16 bits, wIndex = high 16 bits, no data stage (spec 2.3).
SetupPacket setupForWrite(std::uint32_t length);
/// Control IN that reads @p length bytes, also encoded in wValue/wIndex (spec 2.3).
SetupPacket setupForRead(std::uint16_t length);
/// The 8 setup bytes in wire order (little-endian 16-bit fields).
std::array<std::uint8_t, 8> encodeSetup(const SetupPacket& setup);
/// The 32-bit length carried in wValue | wIndex << 16.
std::uint32_t setupLength(const SetupPacket& setup);

/// Bulk OUT pieces are at most this long (rpiboot's LIBUSB_MAX_TRANSFER, spec 2.3).
inline constexpr std::size_t kMaxBulkChunk = 16 * 1024;
/// The largest file the protocol can describe: the size is a signed int32 (spec 2.5).
inline constexpr std::uint64_t kMaxFileSize = 0x7fffffffu;

}  // namespace pinet::proto::usbboot
