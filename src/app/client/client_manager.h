#pragma once
// Client enrolment: the per-client boot tree under the TFTP root (serial
// prefix, plus a MAC-form symlink), the root file system in one of three
// modes, and the registry record.
//
//   shared   the image's root, exported read-only to every client using it
//   copy     a private tree: every regular file is its own inode, a
//            reflink where the file system can (btrfs, XFS), else a copy
//            that keeps holes; never a hard link to the image or to
//            another client (root on one board must not rewrite the others)
//   overlay  an overlayfs (lower = image root, upper/work per client) mounted
//            at roots/SERIAL/merged by `nfs apply` (whatever the NFS backend),
//            which also writes a systemd mount unit for it so the host mounts
//            it again at boot
//
// Layout in the state directory:
//   tftp/SERIAL/            boot files (hard links into images/NAME/boot,
//                           cmdline.txt and ssh written per client)
//   tftp/dc-a6-32-01-36-c2  -> SERIAL (TFTP_PREFIX=2 clients)
//   roots/SERIAL/           copy mode root; overlay mode: upper/ work/ merged/
// The state directory, images/ and roots/ are mode 0700 (ensurePrivateDir).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/settings.h"
#include "io/registry/registry.h"
#include "proto/error.h"
#include "proto/netboot/mount_unit.h"

namespace pinet::app {

/// Progress of a private root's copy: bytes of the regular files done, and the image
/// root's size from image.json (0 when an older import did not record it). Called after
/// each file; the CLI draws a bar from it.
using RootCopyProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct AddClientRequest {
    std::string serial;  ///< normalized by the caller or here
    std::optional<std::string> mac;
    std::string name;  ///< hostname; default "pi-SERIAL"
    std::string image;
    std::string rootMode = "copy";  ///< shared | copy | overlay
    std::string model;              ///< pi4, cm4, pi400, pi5, cm5 (optional)
    std::string address;            ///< IPv4 or subnet the exports are limited to
    std::string notes;
    bool enableSsh = false;
    RootCopyProgress progress;  ///< for --root copy; may be empty
};

struct ClientResult {
    io::ClientRecord record;
    std::vector<std::string> messages;  ///< what was done / warnings, one line each
};

Result<ClientResult> addClient(const std::filesystem::path& stateDir, io::Registry& reg,
                               const ServerSettings& settings, const AddClientRequest& req);
/// Returns a private root (copy or overlay) to the image's state and
/// re-applies the per-client edits (fstab, hostname, ssh).
Result<ClientResult> resetClient(const std::filesystem::path& stateDir, io::Registry& reg,
                                 const ServerSettings& settings, const std::string& serial,
                                 const RootCopyProgress& progress = {});
/// What `client set` changes; unset fields stay as they are.
struct SetClientRequest {
    std::string serial;
    std::optional<std::string> name;
    std::optional<std::string> image;
    std::optional<std::string> rootMode;
    std::optional<std::string> notes;
    std::optional<std::string> address;
    std::optional<std::string> model;
    /// Replace a private root (copy or overlay) with a fresh one from the
    /// image. Changing the image or root mode of such a client needs it:
    /// the board's own files live in that root and are not lost unasked.
    bool resetRoot = false;
    RootCopyProgress progress;  ///< a new copy root's copy; may be empty
};

/// Changes an enrolled client and writes its boot tree again from its image
/// and the current settings (cmdline.txt names the current server), so
/// `client set SERIAL` alone repairs a boot tree. The root is kept unless
/// @p req resets it: a new name is written into the existing root (hostname,
/// hosts); a shared root's image may change freely (nothing in it is the board's).
Result<ClientResult> setClient(const std::filesystem::path& stateDir, io::Registry& reg,
                               const ServerSettings& settings, const SetClientRequest& req);

/// Whether a client has a root of its own whose files removing it would delete.
struct RemovalPlan {
    io::ClientRecord record;
    std::optional<std::filesystem::path> privateRoot;  ///< roots/SERIAL (copy, overlay)
};
Result<RemovalPlan> planRemoval(const std::filesystem::path& stateDir, io::Registry& reg,
                                const std::string& serial);

/// Removes the boot tree, MAC link, private root (unmounting an overlay) and
/// record. @p keepRoot: the private root is moved aside to
/// roots/SERIAL.kept-UNIXTIME instead (the board's files stay on disk).
Result<std::vector<std::string>> removeClient(const std::filesystem::path& stateDir,
                                              io::Registry& reg, const std::string& serial,
                                              bool keepRoot = false, std::int64_t now = 0);

/// The layers and mount point of an overlay-mode client (its image must exist).
Result<proto::netboot::OverlayMount> overlayMountOf(const std::filesystem::path& stateDir,
                                                    const io::ClientRecord& rec);

/// Mounts the overlay of an overlay-mode client if it is not mounted yet.
Result<bool> ensureOverlayMounted(const std::filesystem::path& stateDir,
                                  const io::ClientRecord& rec);

/// Device tree file each model's firmware loads (netboot-protocol.md 4.3/4.4).
std::optional<std::string> modelDtb(const std::string& model);

}  // namespace pinet::app
