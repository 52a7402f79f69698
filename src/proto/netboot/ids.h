#pragma once
// Client identities as the Pi bootloader uses them (netboot-protocol.md 4.2):
// the serial number (8 lower-case hex digits, TFTP_PREFIX=0) and the MAC
// address (TFTP_PREFIX=2 form: lower-case, dash-separated).

#include <optional>
#include <string>
#include <string_view>

namespace pinet::proto::netboot {

/// "9FFEFDEF", "0x9ffefdef", "10000000 9ffefdef" (the 16-digit form printed
/// by /proc/cpuinfo) -> "9ffefdef"; nullopt if it is not a serial.
std::optional<std::string> normalizeSerial(std::string_view s);

/// "DC:A6:32:01:36:C2" / "dc-a6-32-01-36-c2" / "dca6320136c2" -> "dc:a6:32:01:36:c2".
std::optional<std::string> normalizeMac(std::string_view s);

/// "dc:a6:32:01:36:c2" -> "dc-a6-32-01-36-c2" (the TFTP prefix directory).
std::string macPrefixDir(std::string_view normalizedMac);

/// A prefix directory as the bootloader names it (TFTP_PREFIX=0, HTTP_PATH): exactly
/// 8 hex digits, either case -> lower-case serial; nullopt for anything else. Stricter
/// than normalizeSerial: a directory name has one spelling.
std::optional<std::string> serialFromPrefixDir(std::string_view component);

/// A TFTP_PREFIX=2 directory: "DC-A6-32-01-36-C2" (dashes, either case) ->
/// "dc-a6-32-01-36-c2"; nullopt for anything else (colons, no separators).
std::optional<std::string> macFromPrefixDir(std::string_view component);

/// A client or image name usable as a directory and a hostname (RFC 1123
/// label: letters, digits, '-', 1..63 chars, not starting or ending in '-').
bool isValidHostLabel(std::string_view s);

}  // namespace pinet::proto::netboot
