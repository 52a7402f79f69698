#include "io/usb/libusb_source.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <libusb-1.0/libusb.h>

#include "lib/test_env.h"

namespace pinet::io {
namespace {

using core::usbboot::UsbStatus;

TEST(LibusbSourceTest, ErrorCodesMapToSessionClasses) {
    EXPECT_EQ(statusFromLibusb(LIBUSB_ERROR_TIMEOUT), UsbStatus::Timeout);
    EXPECT_EQ(statusFromLibusb(LIBUSB_ERROR_NO_DEVICE), UsbStatus::NoDevice);
    EXPECT_EQ(statusFromLibusb(LIBUSB_ERROR_IO), UsbStatus::Io);
    EXPECT_EQ(statusFromLibusb(LIBUSB_ERROR_PIPE), UsbStatus::Pipe);
    EXPECT_EQ(statusFromLibusb(LIBUSB_ERROR_ACCESS), UsbStatus::Access);
    EXPECT_EQ(statusFromLibusb(LIBUSB_ERROR_OVERFLOW), UsbStatus::Other);
}

TEST(LibusbSourceTest, PermissionMessageNamesDeviceAndTheShippedUdevRule) {
    core::usbboot::DeviceInfo d;
    d.location = "1-1.3";
    d.vendor = 0x0a5c;
    d.product = 0x2711;
    const auto msg = noPermissionMessage(d);
    EXPECT_EQ(msg.rfind("no permission to open USB device 1-1.3 (0a5c:2711): install the udev "
                        "rule packaging/udev/60-pinetboot.rules",
                        0),
              0u)
        << msg;
    EXPECT_NE(msg.find("or run as root"), std::string::npos);
    // The rule the message points to exists and covers every boot product id.
    const auto rule = test::readAll(test::sourceDir() / kUdevRulePath);
    const std::string text(rule.begin(), rule.end());
    for (const char* pid : {"2763", "2764", "2711", "2712"}) {
        EXPECT_NE(text.find(std::string("ATTR{idProduct}==\"") + pid +
                            "\", MODE=\"0660\", GROUP=\"plugdev\""),
                  std::string::npos)
            << pid;
    }
}

}  // namespace
}  // namespace pinet::io
