#pragma once
// The two rpiboot sessions over a UsbTransport (spec 2.4, 2.5) and the file
// lookup order (spec 2.6). No I/O of its own: the transport, the files and
// the pauses are injected, so the whole protocol runs against a simulated
// device in tests.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/usbboot/transport.h"
#include "proto/error.h"
#include "proto/usbboot/messages.h"
#include "proto/usbboot/tar.h"

namespace pinet::core::usbboot {

/// Sleeps for a while; the app passes a real sleep, tests a no-op.
using PauseFn = std::function<void(Millis)>;

/// rpiboot sleeps 1 s between sending the second stage and reading its
/// result (spec 2.4 step 4).
inline constexpr Millis kRomResultDelay{1000};

struct RomResult {
    bool ok = false;
    std::optional<std::int32_t> deviceResult;  ///< the int32 the ROM answered (0 = success)
    std::string error;                         ///< set when !ok
};

/// Stage 1 (spec 2.4): boot message, second stage, then read the 4-byte result.
/// The result is reported but, as in rpiboot, a non-zero value is not fatal.
/// A vanished device at the result read counts as success (it may already be
/// re-enumerating).
RomResult runRomStage(UsbTransport& t, std::span<const std::uint8_t> secondStage,
                      const PauseFn& pause = {});

/// A file found for the device.
struct ServedFile {
    std::string source;  ///< where it came from (a path), for logs
    std::shared_ptr<const std::vector<std::uint8_t>> data;
};

/// Looks names up for one device.
class FileProvider {
public:
    virtual ~FileProvider() = default;
    /// @return the file, or nullopt if it does not exist or the name is refused.
    virtual std::optional<ServedFile> open(std::string_view name) = 0;
};

/// Read-only view of a boot directory (relative paths with '/').
class FsView {
public:
    virtual ~FsView() = default;
    /// @return the whole file, or nullopt if there is no regular file there.
    virtual std::optional<ServedFile> read(const std::string& relPath) = 0;
};

/// True if rpiboot refuses this name (spec 2.6: it contains "..").
bool isRefusedName(std::string_view name);

/// Relative paths to try, in rpiboot's order (spec 2.6 steps 2-3):
/// [<usbPath>/NAME if overlays are on and NAME is not a bootcode*.bin],
/// <prefix>/NAME, NAME. Empty if the name is refused. A leading '/' is
/// dropped so that a name never leaves the boot directory.
std::vector<std::string> lookupCandidates(std::string_view name, std::string_view prefix,
                                          std::string_view usbPath = {});

/// rpiboot's bootfiles mode (spec 2.6 step 1): a ustar archive, bootfiles.bin,
/// holding <chip>/NAME members.
struct BootfilesArchive {
    std::shared_ptr<const std::vector<std::uint8_t>> data;
    std::vector<proto::usbboot::TarMember> members;
};
/// Indexes an archive; the error names what is wrong with it.
Result<std::shared_ptr<const BootfilesArchive>> loadBootfiles(
    std::shared_ptr<const std::vector<std::uint8_t>> data);

/// FileProvider that applies rpiboot's lookup over an FsView: with a
/// bootfiles archive first <prefix>/NAME on disk then in the archive, then
/// lookupCandidates() on disk.
class LookupFileProvider : public FileProvider {
public:
    LookupFileProvider(FsView& fs, std::string prefix, std::string usbPath = {},
                       std::shared_ptr<const BootfilesArchive> bootfiles = nullptr)
        : fs_(fs),
          prefix_(std::move(prefix)),
          usbPath_(std::move(usbPath)),
          bootfiles_(std::move(bootfiles)) {}
    std::optional<ServedFile> open(std::string_view name) override;

private:
    FsView& fs_;
    std::string prefix_;
    std::string usbPath_;
    std::shared_ptr<const BootfilesArchive> bootfiles_;
};

/// Events of the file server, for progress lines and logs.
struct FileServerObserver {
    virtual ~FileServerObserver() = default;
    virtual void onRequest(const proto::usbboot::FileRequest& /*req*/) {}
    virtual void onFileSize(const std::string& /*name*/, std::optional<std::size_t> /*size*/) {}
    virtual void onProgress(const std::string& /*name*/, std::size_t /*sent*/,
                            std::size_t /*total*/) {}
    virtual void onFileSent(const std::string& /*name*/, std::size_t /*size*/) {}
    virtual void onMetadata(const proto::usbboot::MetadataEntry& /*entry*/) {}
};

/// How the file server ended.
enum class ServerEnd {
    Done,          ///< command 2 (spec 2.5 step 6)
    EmptyName,     ///< request with an empty name, ACKed (spec 2.5 step 2)
    Disconnected,  ///< NO_DEVICE/IO while waiting for a request (spec 2.5 step 1)
    Failed,        ///< a transfer failed, or the device broke the protocol
};
const char* serverEndName(ServerEnd e);

struct SentFile {
    std::string name;
    std::size_t size = 0;
    std::size_t sent = 0;
    bool complete = false;
};

struct FileServerResult {
    ServerEnd end = ServerEnd::Failed;
    std::string error;                                    ///< set when end == Failed
    std::vector<SentFile> files;                          ///< ReadFile answers, in order
    std::vector<std::string> missing;                     ///< GetFileSize names not found
    std::vector<proto::usbboot::MetadataEntry> metadata;  ///< `*KEY*VALUE` records, in order
    std::size_t requests = 0;
    std::size_t badRequests = 0;  ///< undecodable requests (short/unterminated)
    std::size_t malformedMetadata = 0;
    std::size_t readRetries = 0;  ///< request reads retried after timeout/stall

    /// The last complete send of @p name, if any.
    [[nodiscard]] const SentFile* sentFile(std::string_view name) const;
    [[nodiscard]] std::optional<std::string> metadataValue(std::string_view key) const;
};

struct FileServerOptions {
    /// Request reads that fail with something other than NO_DEVICE/IO are
    /// retried after a pause (spec 2.5 step 1: rpiboot sleeps 1 s and
    /// retries forever). We stop after this many consecutive failures so a
    /// wedged board cannot hold its thread forever: 3 x 20 s read timeout.
    int maxReadRetries = 3;
    Millis retryPause{1000};
    /// Safety bound on requests per session: a real recovery run makes
    /// about 20 (spec 2.9); a device looping on requests is cut off.
    std::size_t maxRequests = 10000;
    /// Undecodable requests tolerated before the session is failed.
    std::size_t maxBadRequests = 16;
};

/// Stage 2 (spec 2.5): answer GetFileSize / ReadFile / metadata until Done,
/// an empty name, or the device goes away.
FileServerResult serveFiles(UsbTransport& t, FileProvider& files,
                            const FileServerOptions& options = {},
                            FileServerObserver* observer = nullptr, const PauseFn& pause = {});

}  // namespace pinet::core::usbboot
