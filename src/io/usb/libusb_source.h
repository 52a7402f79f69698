#pragma once
// libusb-1.0 behind core::usbboot::DeviceSource: enumeration of Broadcom
// boot-mode devices (spec 2.1), opening with the interface/endpoint choice of
// spec 2.2, and a LibusbTransport for the three rpiboot transfers (spec 2.3).
// Every libusb handle is owned by an RAII object.

#include <memory>
#include <string>

#include "core/usbboot/device.h"

struct libusb_context;

namespace pinet::io {

/// Where the udev rule ships in the source tree; named in permission errors.
inline constexpr const char* kUdevRulePath = "packaging/udev/60-pinetboot.rules";

class LibusbDeviceSource : public core::usbboot::DeviceSource {
public:
    /// Initialises libusb. Errors say why (e.g. no USB support on this host).
    static core::usbboot::UsbResult<std::unique_ptr<LibusbDeviceSource>> create();
    ~LibusbDeviceSource() override;
    LibusbDeviceSource(const LibusbDeviceSource&) = delete;
    LibusbDeviceSource& operator=(const LibusbDeviceSource&) = delete;

    core::usbboot::UsbResult<std::vector<core::usbboot::DeviceInfo>> list() override;
    /// Opens and claims the device. LIBUSB_ERROR_ACCESS becomes an Access
    /// error whose message names the udev rule.
    core::usbboot::UsbResult<std::unique_ptr<core::usbboot::OpenDevice>> open(
        const core::usbboot::DeviceInfo& info) override;

private:
    explicit LibusbDeviceSource(libusb_context* ctx) : ctx_(ctx) {}
    libusb_context* ctx_;
};

/// Maps a libusb error code onto the transport status classes.
core::usbboot::UsbStatus statusFromLibusb(int code);

/// The message for a device we may not open: names the device and the fix.
std::string noPermissionMessage(const core::usbboot::DeviceInfo& info);

}  // namespace pinet::io
