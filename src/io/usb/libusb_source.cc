#include "io/usb/libusb_source.h"

#include <array>

#include <fmt/format.h>
#include <libusb-1.0/libusb.h>

namespace pinet::io {

namespace pu = proto::usbboot;
using core::usbboot::DeviceInfo;
using core::usbboot::Millis;
using core::usbboot::UsbError;
using core::usbboot::UsbResult;
using core::usbboot::UsbStatus;

namespace {

struct DeviceListDeleter {
    void operator()(libusb_device** list) const { libusb_free_device_list(list, 1); }
};
using DeviceList = std::unique_ptr<libusb_device*, DeviceListDeleter>;

struct ConfigDeleter {
    void operator()(libusb_config_descriptor* c) const { libusb_free_config_descriptor(c); }
};
using ConfigPtr = std::unique_ptr<libusb_config_descriptor, ConfigDeleter>;

UsbError libusbError(int code, const std::string& what) {
    return UsbError{statusFromLibusb(code),
                    fmt::format("{}: {}", what, libusb_strerror(static_cast<libusb_error>(code)))};
}

unsigned int timeoutMs(Millis t) {
    return static_cast<unsigned int>(t.count());
}

std::string locationOf(libusb_device* dev) {
    std::array<std::uint8_t, 8> ports{};  // USB 3 allows at most 7 tiers
    const int n = libusb_get_port_numbers(dev, ports.data(), static_cast<int>(ports.size()));
    std::string out = std::to_string(libusb_get_bus_number(dev));
    for (int i = 0; i < n; ++i) {
        out += (i == 0 ? '-' : '.');
        out += std::to_string(ports[static_cast<std::size_t>(i)]);
    }
    if (n <= 0) {
        out += "-0";  // root hub or unknown topology
    }
    return out;
}

/// An open handle with its interface claimed (released and closed in order).
class LibusbOpenDevice : public core::usbboot::OpenDevice, public core::usbboot::UsbTransport {
public:
    LibusbOpenDevice(libusb_device_handle* h, int iface, unsigned char outEp, std::string serial)
        : handle_(h), iface_(iface), outEp_(outEp), serial_(std::move(serial)) {}
    ~LibusbOpenDevice() override {
        libusb_release_interface(handle_, iface_);
        libusb_close(handle_);
    }
    LibusbOpenDevice(const LibusbOpenDevice&) = delete;
    LibusbOpenDevice& operator=(const LibusbOpenDevice&) = delete;

    core::usbboot::UsbTransport& transport() override { return *this; }
    std::string serial() override { return serial_; }

    UsbResult<void> controlOut(std::uint32_t value, Millis timeout) override {
        const auto s = pu::setupForWrite(value);
        const int rc = libusb_control_transfer(handle_, s.requestType, s.request, s.value, s.index,
                                               nullptr, 0, timeoutMs(timeout));
        if (rc < 0) {
            return tl::unexpected(libusbError(rc, "control OUT"));
        }
        return {};
    }

    UsbResult<std::size_t> bulkOut(std::span<const std::uint8_t> data, Millis timeout) override {
        int transferred = 0;
        // libusb takes a non-const buffer for both directions; OUT never writes to it.
        auto* buf = const_cast<unsigned char*>(data.data());
        const int rc = libusb_bulk_transfer(handle_, outEp_, buf, static_cast<int>(data.size()),
                                            &transferred, timeoutMs(timeout));
        if (rc < 0 && transferred == 0) {
            return tl::unexpected(libusbError(rc, "bulk OUT"));
        }
        return static_cast<std::size_t>(transferred);
    }

    UsbResult<std::vector<std::uint8_t>> controlIn(std::uint16_t length, Millis timeout) override {
        std::vector<std::uint8_t> buf(length);
        const auto s = pu::setupForRead(length);
        const int rc = libusb_control_transfer(handle_, s.requestType, s.request, s.value, s.index,
                                               buf.data(), s.length, timeoutMs(timeout));
        if (rc < 0) {
            return tl::unexpected(libusbError(rc, "control IN"));
        }
        buf.resize(static_cast<std::size_t>(rc));
        return buf;
    }

private:
    libusb_device_handle* handle_;
    int iface_;
    unsigned char outEp_;
    std::string serial_;
};

}  // namespace

UsbStatus statusFromLibusb(int code) {
    switch (code) {
        case LIBUSB_ERROR_TIMEOUT: return UsbStatus::Timeout;
        case LIBUSB_ERROR_NO_DEVICE:
        case LIBUSB_ERROR_NOT_FOUND: return UsbStatus::NoDevice;
        case LIBUSB_ERROR_IO: return UsbStatus::Io;
        case LIBUSB_ERROR_PIPE: return UsbStatus::Pipe;
        case LIBUSB_ERROR_ACCESS: return UsbStatus::Access;
        default: return UsbStatus::Other;
    }
}

std::string noPermissionMessage(const DeviceInfo& info) {
    return fmt::format(
        "no permission to open USB device {} ({:04x}:{:04x}): install the udev rule {} "
        "(copy it to /etc/udev/rules.d/, add yourself to the plugdev group, replug the board) "
        "or run as root",
        info.location, info.vendor, info.product, kUdevRulePath);
}

UsbResult<std::unique_ptr<LibusbDeviceSource>> LibusbDeviceSource::create() {
    libusb_context* ctx = nullptr;
    const int rc = libusb_init(&ctx);
    if (rc < 0) {
        return tl::unexpected(UsbError{
            statusFromLibusb(rc),
            fmt::format("cannot initialise libusb: {} (does this host have USB support and "
                        "/dev/bus/usb?)",
                        libusb_strerror(static_cast<libusb_error>(rc)))});
    }
    return std::unique_ptr<LibusbDeviceSource>(new LibusbDeviceSource(ctx));
}

LibusbDeviceSource::~LibusbDeviceSource() {
    libusb_exit(ctx_);
}

UsbResult<std::vector<DeviceInfo>> LibusbDeviceSource::list() {
    libusb_device** raw = nullptr;
    const ssize_t n = libusb_get_device_list(ctx_, &raw);
    if (n < 0) {
        return tl::unexpected(libusbError(static_cast<int>(n), "listing USB devices"));
    }
    DeviceList devices(raw);
    std::vector<DeviceInfo> out;
    for (ssize_t i = 0; i < n; ++i) {
        libusb_device* dev = raw[i];
        libusb_device_descriptor desc{};
        if (libusb_get_device_descriptor(dev, &desc) < 0) {
            continue;
        }
        if (!pu::isBootProduct(desc.idVendor, desc.idProduct)) {
            continue;
        }
        DeviceInfo info;
        info.location = locationOf(dev);
        info.bus = libusb_get_bus_number(dev);
        info.address = libusb_get_device_address(dev);
        info.vendor = desc.idVendor;
        info.product = desc.idProduct;
        info.serialIndex = desc.iSerialNumber;
        out.push_back(std::move(info));
    }
    return out;
}

UsbResult<std::unique_ptr<core::usbboot::OpenDevice>> LibusbDeviceSource::open(
    const DeviceInfo& info) {
    libusb_device** raw = nullptr;
    const ssize_t n = libusb_get_device_list(ctx_, &raw);
    if (n < 0) {
        return tl::unexpected(libusbError(static_cast<int>(n), "listing USB devices"));
    }
    DeviceList devices(raw);
    libusb_device* dev = nullptr;
    for (ssize_t i = 0; i < n; ++i) {
        if (libusb_get_bus_number(raw[i]) == info.bus &&
            libusb_get_device_address(raw[i]) == info.address) {
            dev = raw[i];
            break;
        }
    }
    if (dev == nullptr) {
        return tl::unexpected(
            UsbError{UsbStatus::NoDevice, fmt::format("device {} went away", info.location)});
    }
    libusb_device_descriptor desc{};
    if (int rc = libusb_get_device_descriptor(dev, &desc); rc < 0) {
        return tl::unexpected(libusbError(rc, "reading the device descriptor"));
    }
    // Spec 2.2: one interface -> interface 0, OUT endpoint 1; otherwise
    // (BCM2837 with a mass-storage interface) interface 1, OUT endpoint 3.
    int iface = 0;
    unsigned char outEp = 0x01;
    {
        libusb_config_descriptor* cfgRaw = nullptr;
        if (int rc = libusb_get_active_config_descriptor(dev, &cfgRaw); rc < 0) {
            return tl::unexpected(libusbError(rc, "reading the configuration descriptor"));
        }
        ConfigPtr cfg(cfgRaw);
        if (cfg->bNumInterfaces != 1) {
            iface = 1;
            outEp = 0x03;
        }
    }
    libusb_device_handle* h = nullptr;
    if (int rc = libusb_open(dev, &h); rc < 0) {
        if (rc == LIBUSB_ERROR_ACCESS) {
            return tl::unexpected(UsbError{UsbStatus::Access, noPermissionMessage(info)});
        }
        return tl::unexpected(libusbError(rc, "opening " + info.location));
    }
    std::string serial;
    // In the ROM the serial string index is 0 or 3 and carries no board
    // serial; the second stage reports the board serial (spec 2.1, 2.7).
    if (desc.iSerialNumber != 0 && info.stage() == pu::Stage::SecondStage) {
        std::array<unsigned char, 256> buf{};
        const int len = libusb_get_string_descriptor_ascii(h, desc.iSerialNumber, buf.data(),
                                                           static_cast<int>(buf.size()));
        if (len > 0) {
            serial.assign(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(len));
        }
    }
    if (int rc = libusb_claim_interface(h, iface); rc < 0) {
        libusb_close(h);
        if (rc == LIBUSB_ERROR_ACCESS || rc == LIBUSB_ERROR_BUSY) {
            return tl::unexpected(
                UsbError{statusFromLibusb(rc),
                         fmt::format("cannot claim interface {} of {}: {}", iface, info.location,
                                     rc == LIBUSB_ERROR_BUSY ? "another program (rpiboot?) has it"
                                                             : noPermissionMessage(info))});
        }
        return tl::unexpected(libusbError(rc, "claiming the interface of " + info.location));
    }
    return std::unique_ptr<core::usbboot::OpenDevice>(
        std::make_unique<LibusbOpenDevice>(h, iface, outEp, std::move(serial)));
}

}  // namespace pinet::io
