#pragma once
// Devices as the multi-board runner sees them: a list of boot-mode USB
// devices and a way to open one. io/usb implements it with libusb; tests use
// a simulated bus of Raspberry Pis.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/usbboot/transport.h"
#include "proto/usbboot/messages.h"

namespace pinet::core::usbboot {

struct DeviceInfo {
    /// Physical port, "bus-port.port..." (e.g. "1-1.3"); the same board keeps it
    /// across the ROM -> second stage re-enumeration.
    std::string location;
    std::uint8_t bus = 0;
    std::uint8_t address = 0;  ///< changes on every enumeration
    std::uint16_t vendor = 0;
    std::uint16_t product = 0;
    std::uint8_t serialIndex = 0;  ///< iSerialNumber string index: selects the stage (spec 2.1)

    [[nodiscard]] proto::usbboot::Stage stage() const {
        return proto::usbboot::stageFromSerialIndex(serialIndex);
    }
    /// Identifies one enumeration of one board.
    [[nodiscard]] std::string key() const {
        return location + "@" + std::to_string(bus) + "." + std::to_string(address);
    }
};

/// An opened device with its interface claimed; closes on destruction.
class OpenDevice {
public:
    virtual ~OpenDevice() = default;
    virtual UsbTransport& transport() = 0;
    /// The iSerialNumber string (the board serial in the second stage); may be empty.
    virtual std::string serial() = 0;
};

class DeviceSource {
public:
    virtual ~DeviceSource() = default;
    /// Boot-mode devices present now (vendor 0x0a5c, spec 2.1 product ids).
    virtual UsbResult<std::vector<DeviceInfo>> list() = 0;
    virtual UsbResult<std::unique_ptr<OpenDevice>> open(const DeviceInfo& info) = 0;
};

}  // namespace pinet::core::usbboot
