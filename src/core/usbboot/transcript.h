#pragma once
// A UsbTransport decorator that writes one text line per transfer: setup
// bytes, lengths and outcomes. Used for golden protocol transcripts in tests
// and for `pinetboot usbboot --transcript` when debugging a real board.

#include <mutex>
#include <string>
#include <vector>

#include "core/usbboot/transport.h"

namespace pinet::core::usbboot {

class RecordingTransport : public UsbTransport {
public:
    explicit RecordingTransport(UsbTransport& inner) : inner_(inner) {}

    UsbResult<void> controlOut(std::uint32_t value, Millis timeout) override;
    UsbResult<std::size_t> bulkOut(std::span<const std::uint8_t> data, Millis timeout) override;
    UsbResult<std::vector<std::uint8_t>> controlIn(std::uint16_t length, Millis timeout) override;

    /// Adds a free-form line (e.g. "# stage rom").
    void note(const std::string& line);
    [[nodiscard]] std::vector<std::string> lines() const;
    /// All lines joined with '\n', ending in '\n'.
    [[nodiscard]] std::string text() const;

private:
    void add(std::string line);

    UsbTransport& inner_;
    mutable std::mutex mu_;
    std::vector<std::string> lines_;
};

}  // namespace pinet::core::usbboot
