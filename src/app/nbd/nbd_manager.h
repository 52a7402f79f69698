#pragma once
// Block-device roots over NBD (issue 18): the board's root is an ext4 block
// device served by qemu-nbd (Debian qemu-utils), one process per board,
// started and supervised by pinetboot as nfs apply runs nfs-ganesha.
//
//   nbd        roots/SERIAL/root.qcow2: a private qcow2 overlay whose backing
//              file is the image's shared base, images/NAME/nbd-base.ext4
//              (built once per image from its extracted root with mke2fs -d).
//              Only the blocks the board writes cost disk; the base is never
//              written (qcow2 opens its backing file read-only).
//   nbd-image  roots/SERIAL/root.img: the board owns a whole raw ext4 image
//              (a reflink where the file system can, else a copy that keeps holes).
//
// roots/SERIAL/port holds the board's TCP port (kFirstPort and up, the
// lowest free one at `client add`), kept across resets so cmdline.txt stays
// right. Each board gets a listening socket of its own, made by pinetboot
// and handed to qemu-nbd by socket activation, with a locked BPF filter
// that lets in the board's address only (io/net/filtered_listener.h):
// qemu-nbd has no address access control, and nbdkit's ip filter (Debian
// 12's 1.32.5) refuses every allow= rule it is given.
//
// state/nbd/SERIAL.pid and SERIAL.log: the running qemu-nbd. A PID read back
// is only signalled when /proc/PID/cmdline is qemu-nbd serving that board's
// disk. Program names are constants looked up in PATH, never read from a
// file (docs/security.md); disk paths come from the serial, not the row.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/image/image_store.h"
#include "app/settings.h"
#include "io/registry/registry.h"
#include "proto/error.h"

namespace pinet::app {

/// "nbd" or "nbd-image".
bool isNbdRootMode(const std::string& mode);

/// The first board port. 10809 (IANA "nbd") is left free for a server the
/// user runs; ports above it are the boards'.
inline constexpr std::uint16_t kNbdFirstPort = 10810;

struct NbdPaths {
    std::filesystem::path stateDir;
    [[nodiscard]] std::filesystem::path runDir() const { return stateDir / "nbd"; }
    [[nodiscard]] std::filesystem::path base(const std::string& image) const {
        return stateDir / "images" / image / "nbd-base.ext4";
    }
    [[nodiscard]] std::filesystem::path disk(const std::string& serial,
                                             const std::string& mode) const;
    [[nodiscard]] std::filesystem::path portFile(const std::string& serial) const {
        return stateDir / "roots" / serial / "port";
    }
    [[nodiscard]] std::filesystem::path pidFile(const std::string& serial) const {
        return runDir() / (serial + ".pid");
    }
    [[nodiscard]] std::filesystem::path logFile(const std::string& serial) const {
        return runDir() / (serial + ".log");
    }
};

/// Runs one of the engine's tools (qemu-img, mke2fs; no shell): its stdout, or an error
/// naming the tool, its exit code and what it printed.
Result<std::string> runNbdTool(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout);

/// Size of the base ext4 for a root of @p rootBytes: twice the files plus
/// 1 GiB, so the boards have room to write (the file is sparse: unused
/// space costs nothing).
std::uint64_t nbdBaseSize(std::uint64_t rootBytes);

/// Builds images/NAME/nbd-base.ext4 from the image's extracted root if it is
/// not there yet (temp + rename); returns a line saying what was done.
Result<std::string> ensureNbdBase(const std::filesystem::path& stateDir, const ImageInfo& img);

/// The base of an in-place image's NBD roots: the image file itself, whole, opened
/// read-only as the overlays' backing. Fails unless its root partition is ext4 and the
/// file is as it was at `image add`; returns a line saying so.
Result<std::string> inPlaceNbdBase(const ImageInfo& img);

/// The board's root device for cmdline.txt: /dev/nbd0 (an imported image's ext4 base),
/// or the root partition of the whole disk of an in-place image (/dev/nbd0p2).
std::string nbdRootDevice(const ImageInfo& img);

/// Makes roots/SERIAL with the board's disk and port file for @p rec
/// (rootMode nbd or nbd-image) and sets rec.rootExport to the disk. @p port:
/// reuse this port (a reset), else the lowest free one among @p others.
Result<std::string> buildNbdRoot(const std::filesystem::path& stateDir, const ImageInfo& img,
                                 io::ClientRecord& rec, const std::vector<io::ClientRecord>& others,
                                 std::optional<std::uint16_t> port = std::nullopt);

/// The board's port (roots/SERIAL/port), checked to be a number in range.
Result<std::uint16_t> nbdPortOf(const std::filesystem::path& stateDir, const std::string& serial);

/// Stops the board's qemu-nbd if it runs (SIGTERM, then SIGKILL after 5 s);
/// true if one was stopped.
Result<bool> stopNbdExport(const std::filesystem::path& stateDir, const std::string& serial);

struct NbdApplyReport {
    std::vector<std::string> lines;
    std::vector<std::string> refused;  ///< rows left out (the command fails)
};

/// Starts (again) one qemu-nbd per enrolled nbd client and stops those of
/// clients no longer enrolled. With @p onlySerial (after `client add/reset`)
/// only that client's export is restarted and the others are started only if
/// they are not running, so their boards keep their connections. Fails,
/// naming the Debian package, when qemu-nbd is missing and a client needs it.
Result<NbdApplyReport> applyNbd(const std::filesystem::path& stateDir, io::Registry& reg,
                                const ServerSettings& s,
                                const std::optional<std::string>& onlySerial = std::nullopt);

struct NbdExportStatus {
    std::string serial;
    std::string mode;
    std::string address;
    std::uint16_t port = 0;
    std::filesystem::path disk;
    std::uint64_t diskBytes = 0;  ///< blocks allocated on the server's disk
    std::optional<int> pid;       ///< running qemu-nbd
    std::string problem;          ///< why it is not served (or not safely), or ""
};

Result<std::vector<NbdExportStatus>> nbdStatus(const std::filesystem::path& stateDir,
                                               io::Registry& reg);

}  // namespace pinet::app
