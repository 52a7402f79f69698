#pragma once
// Files that exist for one client only, in front of the boot tree: consulted by the TFTP
// engine (and HTTP boot) before the file system, so that `serve` can answer a board's
// pieeprom.sig / pieeprom.upd from an EEPROM rollout without writing into its boot
// folder (docs/architecture.md, "Bootloader rollouts"). Clients it does not answer for
// get their tree's file, or file-not-found, as before.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/tftp/file_source.h"

namespace pinet::core::tftp {

/// Who asks, as far as the request shows it. The bootloader's TFTP_PREFIX (spec 4.2)
/// decides: 0 (default) puts the serial in front of every path, 2 the MAC address, 1 a
/// fixed TFTP_PREFIX_STR (or nothing) that names no board; a board whose prefix folder
/// does not exist clears the prefix and asks from the root. Without a serial or MAC
/// prefix only the source address is left, for the overlay to map to a board.
struct OverlayClient {
    std::optional<std::string> serial;  ///< 8 lowercase hex digits, from a serial prefix
    std::optional<std::string> mac;     ///< "dc-a6-32-01-36-c2", from a MAC prefix
    std::optional<std::uint32_t> ipv4;  ///< source address (host order), IPv4 requests
};

class FileOverlay {
public:
    virtual ~FileOverlay() = default;
    /// The content to serve instead of the tree's for the client @p who asking for
    /// @p name (the request's last path component), or null for "no overlay: use the
    /// tree". Called on the packet path from the server threads: implementations lock
    /// briefly and never throw.
    virtual std::shared_ptr<const FileContent> open(const OverlayClient& who,
                                                    std::string_view name) = 0;
};

}  // namespace pinet::core::tftp
