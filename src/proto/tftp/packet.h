#pragma once
// TFTP packet codec (RFC 1350, options RFC 2347/2348/2349/7440): bytes in,
// values out, and builders for every packet type. Pure: no sockets, no clock.
// Parse failures are values (ParseError) so callers can count them by reason.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

namespace pinet::proto::tftp {

/// RFC 1350 section 5 opcodes; 6 (OACK) from RFC 2347.
enum class Opcode : std::uint16_t { Rrq = 1, Wrq = 2, Data = 3, Ack = 4, Error = 5, Oack = 6 };

/// RFC 1350 appendix error codes; 8 from RFC 2347.
enum class ErrorCode : std::uint16_t {
    NotDefined = 0,
    FileNotFound = 1,
    AccessViolation = 2,
    DiskFull = 3,
    IllegalOperation = 4,
    UnknownTid = 5,
    FileExists = 6,
    NoSuchUser = 7,
    OptionRefused = 8,
};

/// RFC 1350 section 5 transfer modes ("mail" is obsolete and refused by servers).
enum class Mode { Octet, Netascii, Mail };

/// RFC 1350 section 5: DATA carries 512 bytes unless blksize says otherwise.
inline constexpr std::uint32_t kDefaultBlockSize = 512;
/// RFC 2348: valid blksize values are 8 to 65464 octets.
inline constexpr std::uint32_t kMinBlockSize = 8;
inline constexpr std::uint32_t kMaxBlockSize = 65464;
/// RFC 2349: timeout is 1 to 255 seconds.
inline constexpr std::uint32_t kMinTimeoutSecs = 1;
inline constexpr std::uint32_t kMaxTimeoutSecs = 255;
/// RFC 7440 section 3: windowsize is 1 to 65535 blocks.
inline constexpr std::uint32_t kMinWindowSize = 1;
inline constexpr std::uint32_t kMaxWindowSize = 65535;
/// Opcode (2) + block number (2), RFC 1350 section 5.
inline constexpr std::size_t kDataHeaderSize = 4;
/// RFC 1350 section 5 says nothing of name length; the Pi sends short names and
/// 255 is the common file-name limit. Longer names are refused, not truncated.
inline constexpr std::size_t kMaxFilenameLength = 255;
/// RFC 2347: a request (with its options) must fit in 512 octets. We accept up
/// to one Ethernet payload, because some clients overshoot slightly.
inline constexpr std::size_t kMaxRequestSize = 1472;

/// A name/value pair exactly as sent (name kept in its original case).
struct Option {
    std::string name;
    std::string value;
    bool operator==(const Option&) const = default;
};

/// The options a server understands, validated against their RFC ranges.
/// An option that was present with an invalid value is left empty and listed
/// in @c invalid, so the server ignores it (RFC 2347: unknown or unacceptable
/// options are simply left out of the OACK).
struct RequestOptions {
    std::optional<std::uint64_t> tsize;       ///< RFC 2349 (0 in a read request)
    std::optional<std::uint32_t> blksize;     ///< RFC 2348, 8..65464
    std::optional<std::uint32_t> timeout;     ///< RFC 2349, seconds, 1..255
    std::optional<std::uint32_t> windowsize;  ///< RFC 7440, 1..65535
    std::vector<std::string> invalid;         ///< known names with bad values
    std::vector<std::string> unknown;         ///< names we do not implement
};

/// RRQ or WRQ.
struct Request {
    Opcode opcode = Opcode::Rrq;
    std::string filename;
    Mode mode = Mode::Octet;
    std::vector<Option> options;  ///< in the order sent
    bool operator==(const Request&) const = default;
};

struct Data {
    std::uint16_t block = 0;
    std::span<const std::uint8_t> payload;  ///< view into the parsed buffer
};

struct Ack {
    std::uint16_t block = 0;
    bool operator==(const Ack&) const = default;
};

struct ErrorPacket {
    std::uint16_t code = 0;  ///< raw: clients send codes outside ErrorCode too
    std::string message;
    bool operator==(const ErrorPacket&) const = default;
};

struct Oack {
    std::vector<Option> options;
    bool operator==(const Oack&) const = default;
};

using Packet = std::variant<Request, Data, Ack, ErrorPacket, Oack>;

/// Why a datagram was not a valid TFTP packet (counted by the server).
enum class ParseError {
    TooShort,         ///< fewer than 4 bytes, or a field cut off
    TooLong,          ///< request larger than kMaxRequestSize
    UnknownOpcode,    ///< opcode outside 1..6
    Unterminated,     ///< a string without its NUL
    EmptyFilename,    ///< RRQ/WRQ with an empty file name
    FilenameTooLong,  ///< longer than kMaxFilenameLength
    BadMode,          ///< mode is not netascii/octet/mail
    BadOption,        ///< option name without value, empty name, or duplicate
    TrailingBytes,    ///< bytes after an ACK
};

const char* toString(ParseError e);

/// Parses one datagram. Data payloads are views into @p bytes.
tl::expected<Packet, ParseError> parse(std::span<const std::uint8_t> bytes);

/// Validates the options of a request (names compared case-insensitively,
/// RFC 2347) against the ranges of RFC 2348/2349/7440.
RequestOptions interpretOptions(const std::vector<Option>& options);

/// Case-insensitive ASCII comparison (option names and modes, RFC 2347/1350).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

const char* modeName(Mode mode);

// ---- builders -----------------------------------------------------------

std::vector<std::uint8_t> buildRequest(const Request& request);
/// The 4-byte DATA header; the payload follows in a second iovec.
void writeDataHeader(std::uint8_t* out4, std::uint16_t block);
std::vector<std::uint8_t> buildData(std::uint16_t block, std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> buildAck(std::uint16_t block);
std::vector<std::uint8_t> buildError(std::uint16_t code, std::string_view message);
std::vector<std::uint8_t> buildError(ErrorCode code, std::string_view message);
std::vector<std::uint8_t> buildOack(const std::vector<Option>& options);

}  // namespace pinet::proto::tftp
