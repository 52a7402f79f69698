#pragma once
// The one sanitiser for text that comes from outside (the network, a disk
// image, the registry, a user's flag): what it returns is valid UTF-8 with no
// control characters, so it can go into JSON (nlohmann::json::dump throws on
// invalid UTF-8), a log line (a "\n" in a TFTP file name would forge a line)
// or an HTML page without a second thought. Apply it where the string enters.
//
// Kept: printable UTF-8 (RFC 3629: shortest form, no surrogates, at most
// U+10FFFF). Escaped as \xHH, byte by byte: invalid or overlong sequences, C0
// controls and DEL, C1 controls (U+0080..U+009F), and the bidirectional
// overrides and isolates (U+202A..U+202E, U+2066..U+2069: "Trojan Source",
// CVE-2021-42574), which reorder what a reader of a log or dashboard sees.
// A backslash becomes "\\", so the escaped form is unambiguous.

#include <cstddef>
#include <string>
#include <string_view>

namespace pinet::proto::text {

/// Longest result by default: a TFTP request is at most 512 bytes and a DHCP
/// option 255, so 1024 keeps every honest value whole, escapes included.
inline constexpr std::size_t kDefaultMaxBytes = 1024;

/// Whether a backslash is doubled: yes for values (the escaped form stays
/// unambiguous), no for a whole log line, whose parts were made safe already.
enum class Backslash { Escape, Keep };

/// @p in made safe (see the header comment), cut at a character boundary to
/// at most @p maxBytes bytes plus "..." when it was longer.
std::string safeText(std::string_view in, std::size_t maxBytes = kDefaultMaxBytes,
                     Backslash backslash = Backslash::Escape);

/// True if @p in is already what safeText returns (so it can be used as is).
bool isSafeText(std::string_view in);

/// True if @p in is valid UTF-8 (RFC 3629) without NUL bytes: what a PostgreSQL
/// text column accepts (control characters included).
bool isUtf8Text(std::string_view in);

}  // namespace pinet::proto::text
