#pragma once
// The boundary between the rpiboot session logic and libusb. Three
// primitives are all the protocol uses (spec 2.3): a vendor control OUT whose
// wValue/wIndex carry a 32-bit number and that has no data stage, a bulk OUT,
// and a vendor control IN. libusb implements it in io/usb; the test tree
// has a simulated Raspberry Pi behind the same interface.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace pinet::core::usbboot {

/// Transfer outcome classes the session logic acts on (libusb error codes
/// map onto these in io/usb).
enum class UsbStatus {
    Timeout,   ///< LIBUSB_ERROR_TIMEOUT
    NoDevice,  ///< LIBUSB_ERROR_NO_DEVICE: unplugged or re-enumerating
    Io,        ///< LIBUSB_ERROR_IO: rpiboot treats it like NoDevice (spec 2.5 step 1)
    Pipe,      ///< stall
    Access,    ///< LIBUSB_ERROR_ACCESS: no permission
    Other,
};
const char* usbStatusName(UsbStatus s);

struct UsbError {
    UsbStatus status = UsbStatus::Other;
    std::string message;
};

template <typename T>
using UsbResult = tl::expected<T, UsbError>;

using Millis = std::chrono::milliseconds;

/// Timeouts of rpiboot (spec 2.3).
inline constexpr Millis kControlOutTimeout{1000};
inline constexpr Millis kBulkTimeout{5000};
inline constexpr Millis kControlInTimeout{20000};

class UsbTransport {
public:
    virtual ~UsbTransport() = default;
    /// Vendor control OUT (bmRequestType 0x40, bRequest 0) with wValue =
    /// value & 0xffff, wIndex = value >> 16 and no data stage.
    virtual UsbResult<void> controlOut(std::uint32_t value, Millis timeout) = 0;
    /// One bulk OUT transfer to the OUT endpoint. @return bytes accepted
    /// (may be fewer than data.size() when the device stops early).
    virtual UsbResult<std::size_t> bulkOut(std::span<const std::uint8_t> data, Millis timeout) = 0;
    /// Vendor control IN (bmRequestType 0xc0, bRequest 0) of @p length bytes,
    /// wValue = length. @return the bytes the device sent (may be fewer).
    virtual UsbResult<std::vector<std::uint8_t>> controlIn(std::uint16_t length,
                                                           Millis timeout) = 0;
};

/// What rpiboot's write() achieved.
struct WriteOutcome {
    std::size_t sent = 0;           ///< bytes accepted by bulk OUT
    std::optional<UsbError> error;  ///< set when a transfer failed
    [[nodiscard]] bool complete(std::size_t wanted) const { return !error && sent == wanted; }
};

/// rpiboot's write(): control OUT announcing the length, then the bytes in
/// bulk pieces of at most 16 KiB (spec 2.3). A zero-length write is only the
/// control transfer (the generic ACK/NAK). Stops at the first failed or
/// short piece. @p onChunk (optional) sees the running byte count.
WriteOutcome writeMessage(UsbTransport& t, std::span<const std::uint8_t> data,
                          const std::function<void(std::size_t)>& onChunk = {});

}  // namespace pinet::core::usbboot
