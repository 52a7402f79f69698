#pragma once
// Files that exist for one client only, in front of the boot tree: consulted by the TFTP
// engine (and HTTP boot) before the file system, so that `serve` can answer a board's
// pieeprom.sig / pieeprom.upd from an EEPROM rollout without writing into its boot
// folder (docs/architecture.md, "Bootloader rollouts"). Clients it does not answer for
// get their tree's file, or file-not-found, as before.

#include <memory>
#include <string>
#include <string_view>

#include "core/tftp/file_source.h"

namespace pinet::core::tftp {

class FileOverlay {
public:
    virtual ~FileOverlay() = default;
    /// The content to serve instead of the tree's for the client @p serial (8 lowercase
    /// hex digits) asking for @p name (the request's file name beneath its prefix), or
    /// null for "no overlay: use the tree". Called on the packet path from the server
    /// threads: implementations lock briefly and never throw.
    virtual std::shared_ptr<const FileContent> open(std::string_view serial,
                                                    std::string_view name) = 0;
};

}  // namespace pinet::core::tftp
