#pragma once
// A simulated Raspberry Pi in USB boot mode behind the UsbTransport
// interface: the boot ROM (spec 2.4) and then the recovery second stage
// playing a request script (spec 2.5, 2.9, 2.10). It checks every host
// transfer against the protocol, records the files it received, and can
// inject faults: missing files, short reads, short bulk writes, timeouts,
// and vanishing mid-transfer. SimBus lists several boards as a DeviceSource.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/usbboot/device.h"
#include "core/usbboot/transport.h"

namespace pinet::test {

struct SimRequest {
    std::int32_t command = 0;
    std::string name;
};

/// The recovery request order of spec 2.9/2.10: config.txt, pieeprom.sig,
/// pieeprom.bin (GetFileSize + ReadFile each), a probe for a missing file,
/// the EEPROM_UPDATE metadata, then Done.
std::vector<SimRequest> recoveryScript();

struct SimFaults {
    /// The n-th request read (0-based) is answered with only this many bytes.
    std::optional<std::size_t> shortRequestAt;
    std::size_t shortRequestBytes = 2;
    /// The n-th request read times out this many times before it is sent.
    std::optional<std::size_t> timeoutAtRequest;
    int timeouts = 1;
    /// While receiving this file, disconnect after this many bytes.
    std::string vanishDuring;
    std::size_t vanishAfter = 0;
    /// While receiving this file, accept only part of the bulk piece that
    /// crosses this offset (a short bulk write), then keep going.
    std::string shortBulkDuring;
    std::size_t shortBulkAt = 0;
    /// The ROM disconnects in the middle of the second stage.
    bool vanishInRom = false;
    /// The ROM's boot result (0 = success).
    std::int32_t romResult = 0;
};

class SimBoard : public core::usbboot::UsbTransport {
public:
    /// @p product 0x2711 or 0x2712 (or 0x2763/0x2764); the board starts in the ROM
    /// (iSerialNumber index 3, or 0 for the older chips) unless @p startInSecondStage.
    SimBoard(std::uint16_t product, std::string serial, std::string location,
             std::vector<SimRequest> script, SimFaults faults = {},
             bool startInSecondStage = false);

    core::usbboot::UsbResult<void> controlOut(std::uint32_t value,
                                              core::usbboot::Millis timeout) override;
    core::usbboot::UsbResult<std::size_t> bulkOut(std::span<const std::uint8_t> data,
                                                  core::usbboot::Millis timeout) override;
    core::usbboot::UsbResult<std::vector<std::uint8_t>> controlIn(
        std::uint16_t length, core::usbboot::Millis timeout) override;

    /// Present on the bus now (not re-enumerating, not gone).
    [[nodiscard]] bool present() const;
    [[nodiscard]] core::usbboot::DeviceInfo info() const;
    [[nodiscard]] std::string serialString() const;
    /// Called when the host closes the device: a finished ROM re-enumerates
    /// as the second stage after @p hiddenPolls bus listings.
    void closed();
    void setReenumerateDelay(int hiddenPolls) { reenumerateDelay_ = hiddenPolls; }
    /// One bus listing passed (counts down re-enumeration delays).
    void tick();

    [[nodiscard]] bool romDone() const;
    [[nodiscard]] bool finished() const;  ///< the script ran to its end
    [[nodiscard]] std::vector<std::uint8_t> secondStageReceived() const;
    /// Files received by ReadFile, by requested name (complete ones only).
    [[nodiscard]] std::map<std::string, std::vector<std::uint8_t>> received() const;
    /// Names the host said were missing (size 0).
    [[nodiscard]] std::vector<std::string> missing() const;
    /// Protocol violations seen by the device (the test expects none).
    [[nodiscard]] std::vector<std::string> violations() const;

private:
    enum class Phase {
        RomWantBootLen,
        RomWantBootMsg,
        RomWantFileLen,
        RomWantFile,
        RomWantResultRead,
        RomDone,
        Stage2WantRead,
        Stage2WantReply,
        Stage2WantData,
        Finished,
        Gone
    };
    core::usbboot::UsbError violation(const std::string& what);
    core::usbboot::UsbError gone();

    mutable std::mutex mu_;
    std::uint16_t product_;
    std::string serial_;
    std::string location_;
    std::vector<SimRequest> script_;
    SimFaults faults_;
    Phase phase_;
    std::uint8_t address_ = 10;
    int hidden_ = 0;
    int reenumerateDelay_ = 1;
    bool disconnected_ = false;

    // ROM stage
    std::uint32_t expectLen_ = 0;
    std::vector<std::uint8_t> bootMsg_;
    std::vector<std::uint8_t> secondStage_;
    // stage 2
    std::size_t next_ = 0;   // next script entry
    std::size_t reads_ = 0;  // request reads answered
    int timeoutsLeft_ = 0;
    SimRequest current_;
    std::map<std::string, std::uint32_t> sizes_;  // from GetFileSize answers
    std::string receiving_;
    std::vector<std::uint8_t> buffer_;
    bool shortBulkDone_ = false;
    std::map<std::string, std::vector<std::uint8_t>> received_;
    std::vector<std::string> missing_;
    std::vector<std::string> violations_;
};

/// A bus of simulated boards, as a DeviceSource.
class SimBus : public core::usbboot::DeviceSource {
public:
    void add(std::shared_ptr<SimBoard> board) { boards_.push_back(std::move(board)); }
    core::usbboot::UsbResult<std::vector<core::usbboot::DeviceInfo>> list() override;
    core::usbboot::UsbResult<std::unique_ptr<core::usbboot::OpenDevice>> open(
        const core::usbboot::DeviceInfo& info) override;
    /// Make open() fail with this status (e.g. Access) for every device.
    void failOpenWith(std::optional<core::usbboot::UsbStatus> s) { openFailure_ = s; }

private:
    std::vector<std::shared_ptr<SimBoard>> boards_;
    std::optional<core::usbboot::UsbStatus> openFailure_;
};

}  // namespace pinet::test
