#pragma once
// The multi-board rpiboot runner: watches a DeviceSource, serves every
// boot-mode device on its own thread (ROM stage, then the file server after
// re-enumeration), prints one progress line per event prefixed by the board,
// and writes per-serial metadata JSON. Used by `pinetboot usbboot` and
// `pinetboot flash`.

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/usbboot/device.h"
#include "core/usbboot/session.h"

namespace pinet::app {

/// One USB session with one board (a ROM stage or a file-server stage).
struct SessionReport {
    core::usbboot::DeviceInfo device;
    std::string serial;  ///< iSerialNumber string (second stage only)
    proto::usbboot::Stage stage = proto::usbboot::Stage::Rom;
    bool ok = false;
    std::string error;  ///< why !ok, one line
    // ROM stage
    std::string secondStage;  ///< file name sent
    std::size_t secondStageSize = 0;
    // file server
    std::optional<core::usbboot::FileServerResult> server;
    std::filesystem::path metadataFile;  ///< written JSON, if any
    std::string transcript;              ///< when RunnerOptions::recordTranscripts
};

struct RunSummary {
    std::vector<SessionReport> sessions;  ///< in completion order
    bool noDevice = false;                ///< gave up waiting for the first device
    std::string fatal;                    ///< the bus could not be listed at all
};

struct RunnerOptions {
    /// Boot directory view for a device (bootcode and second-stage files).
    std::function<std::unique_ptr<core::usbboot::FileProvider>(const core::usbboot::DeviceInfo&)>
        providerFor;
    /// Serve forever (rpiboot -l); otherwise stop once every board that came
    /// has finished its file-server stage and nothing new appeared for `settle`.
    bool loop = false;
    /// Only the device at this USB path ("1-1.3"); empty = all.
    std::string port;
    /// Stop after this many completed second-stage sessions (0 = no limit).
    std::size_t maxBoards = 0;
    std::chrono::milliseconds pollInterval{500};  ///< rpiboot polls too (spec 2.8)
    std::chrono::milliseconds settle{3000};
    /// A board that finished its ROM stage must re-enumerate within this time.
    std::chrono::milliseconds reenumerateTimeout{15000};
    /// Give up if no device at all appears within this time (0 = wait forever).
    std::chrono::milliseconds noDeviceTimeout{0};
    /// Pause before opening a fresh device and between retries (rpiboot: 1 s).
    std::chrono::milliseconds openDelay{1000};
    core::usbboot::PauseFn pause;  ///< real sleep in the CLI, no-op in tests
    core::usbboot::FileServerOptions server;
    bool recordTranscripts = false;
    /// Write <serial>.json here when a board sends metadata (rpiboot -j).
    std::filesystem::path metadataDir;
    /// Progress line sink (thread-safe calls are serialised by the runner).
    std::function<void(const std::string&)> print;
    /// For a progress bar (a terminal): the bytes sent of each file of 64 KiB or more, as it
    /// goes (@p board is boardLabel()); the runner then prints no 25 % lines. @p total 0:
    /// that board's session ended, arrived or not. Serialised with print.
    std::function<void(const std::string& board, const std::string& file, std::size_t sent,
                       std::size_t total)>
        progress;
    /// Polled between bus scans; true ends the run (SIGINT).
    const std::atomic<bool>* stop = nullptr;
};

/// Runs until the stop condition of @p options; never throws on device errors.
RunSummary runUsbboot(core::usbboot::DeviceSource& source, const RunnerOptions& options);

/// Board label used in progress lines: "[1-1.3 2711 abcd1234]".
std::string boardLabel(const core::usbboot::DeviceInfo& d, const std::string& serial);

}  // namespace pinet::app
