#pragma once
// Request paths: sanitising what a client asked for, and mapping the Pi's
// per-client prefixes (spec 4.2: "<serial>/" by default, "<mac-with-dashes>/"
// with TFTP_PREFIX=2) onto boot directories.
//
// The mapping goes through ClientDirectoryResolver so that `serve` can answer
// from its client registry while `pinetboot tftp` answers from the folders
// under --root. Requests for an unknown serial or MAC fall back to the default
// boot directory (when configured) and are reported, so the client can be
// enrolled later.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/boot_events.h"

namespace pinet::core::tftp {

/// Why a requested path is refused (each counted by the server).
enum class PathError {
    Empty,
    Absolute,     ///< starts with '/'
    Backslash,    ///< '\' (a Windows separator: never guess what was meant)
    Nul,          ///< embedded NUL
    ControlChar,  ///< bytes below 0x20 or 0x7f
    DotDot,       ///< a ".." component
    TooLong,      ///< over kMaxPathLength, or a component over 255
};

const char* toString(PathError e);

/// Longest accepted request path; the Pi's longest is "<serial>/overlays/<name>.dtbo".
inline constexpr std::size_t kMaxPathLength = 255;

/// Returns the path with "." and empty components removed, or why it is refused.
/// Never touches the file system: resolution is confined separately (openat2).
tl::expected<std::string, PathError> sanitizePath(std::string_view requested);

/// "d9780558" (8 hex digits, either case) -> lowercase serial.
std::optional<std::string> parseSerialPrefix(std::string_view component);
/// "dc-a6-32-01-36-c2" (either case) -> lowercase, dash-separated MAC.
std::optional<std::string> parseMacPrefix(std::string_view component);

/// Answers which boot directory (relative to the TFTP root) belongs to a client.
/// Implementations are called on the packet path: keep them quick.
class ClientDirectoryResolver {
public:
    virtual ~ClientDirectoryResolver() = default;
    /// @param serial 8 lowercase hex digits
    virtual std::optional<std::string> directoryForSerial(std::string_view serial) const = 0;
    /// @param mac lowercase, dash-separated ("dc-a6-32-01-36-c2")
    virtual std::optional<std::string> directoryForMac(std::string_view mac) const = 0;
};

struct MappedPath {
    std::string path;  ///< relative to the TFTP root, sanitised
    std::optional<std::string> serial;
    std::optional<std::string> mac;
    bool unknownClient = false;  ///< had a serial/MAC prefix the resolver did not know
    bool usedDefault = false;    ///< answered from the default boot directory
};

/// Maps a request onto a path under the root. @p defaultDir is relative to the
/// root (sanitised by the caller at configuration time); empty = none.
tl::expected<MappedPath, PathError> mapRequest(std::string_view requested,
                                               const ClientDirectoryResolver* resolver,
                                               std::string_view defaultDir);

/// Serials and MACs that asked for files but are not enrolled, with where
/// they asked from. Bounded: a flood of invented serials cannot grow it.
class UnknownClientLog {
public:
    struct Entry {
        std::string id;  ///< serial or MAC
        bool isMac = false;
        std::string sourceAddr;  ///< last "ip:port" seen
        WallTime firstSeen{};
        WallTime lastSeen{};
        std::uint64_t requests = 0;
    };

    /// 1024 entries is far more boards than one boot network holds, and small.
    explicit UnknownClientLog(std::size_t maxEntries = 1024) : max_(maxEntries) {}

    /// @return true if this id was not in the log before.
    bool record(std::string_view id, bool isMac, std::string_view sourceAddr, WallTime now);
    [[nodiscard]] std::vector<Entry> entries() const;
    [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

private:
    std::size_t max_;
    std::map<std::string, Entry, std::less<>> entries_;
    std::uint64_t dropped_ = 0;
};

}  // namespace pinet::core::tftp
