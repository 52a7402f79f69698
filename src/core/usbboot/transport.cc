#include "core/usbboot/transport.h"

#include <algorithm>

#include "proto/usbboot/messages.h"

namespace pinet::core::usbboot {

const char* usbStatusName(UsbStatus s) {
    switch (s) {
        case UsbStatus::Timeout: return "timeout";
        case UsbStatus::NoDevice: return "no-device";
        case UsbStatus::Io: return "io";
        case UsbStatus::Pipe: return "pipe";
        case UsbStatus::Access: return "access";
        case UsbStatus::Other: return "other";
    }
    return "other";
}

WriteOutcome writeMessage(UsbTransport& t, std::span<const std::uint8_t> data,
                          const std::function<void(std::size_t)>& onChunk) {
    WriteOutcome out;
    if (data.size() > proto::usbboot::kMaxFileSize) {
        out.error = UsbError{UsbStatus::Other, "message larger than 2 GiB"};
        return out;
    }
    if (auto r = t.controlOut(static_cast<std::uint32_t>(data.size()), kControlOutTimeout); !r) {
        out.error = r.error();
        return out;
    }
    while (out.sent < data.size()) {
        const std::size_t n = std::min(proto::usbboot::kMaxBulkChunk, data.size() - out.sent);
        auto r = t.bulkOut(data.subspan(out.sent, n), kBulkTimeout);
        if (!r) {
            out.error = r.error();
            return out;
        }
        out.sent += *r;
        if (onChunk) {
            onChunk(out.sent);
        }
        if (*r < n) {
            // The device took less than offered: rpiboot stops and reports
            // the short count; so do we.
            break;
        }
    }
    return out;
}

}  // namespace pinet::core::usbboot
