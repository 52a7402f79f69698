#include "core/usbboot/transcript.h"

#include <fmt/format.h>

#include "proto/usbboot/messages.h"

namespace pinet::core::usbboot {

namespace pu = proto::usbboot;

namespace {

std::string setupHex(const pu::SetupPacket& s) {
    const auto b = pu::encodeSetup(s);
    return fmt::format("{:02x} {:02x} {:02x} {:02x} {:02x} {:02x} {:02x} {:02x}", b[0], b[1], b[2],
                       b[3], b[4], b[5], b[6], b[7]);
}

std::string errorText(const UsbError& e) {
    return fmt::format("error {}", usbStatusName(e.status));
}

}  // namespace

UsbResult<void> RecordingTransport::controlOut(std::uint32_t value, Millis timeout) {
    auto r = inner_.controlOut(value, timeout);
    add(fmt::format("control-out {} value={} -> {}", setupHex(pu::setupForWrite(value)), value,
                    r ? "ok" : errorText(r.error())));
    return r;
}

UsbResult<std::size_t> RecordingTransport::bulkOut(std::span<const std::uint8_t> data,
                                                   Millis timeout) {
    auto r = inner_.bulkOut(data, timeout);
    add(fmt::format("bulk-out len={} -> {}", data.size(),
                    r ? std::to_string(*r) : errorText(r.error())));
    return r;
}

UsbResult<std::vector<std::uint8_t>> RecordingTransport::controlIn(std::uint16_t length,
                                                                   Millis timeout) {
    auto r = inner_.controlIn(length, timeout);
    std::string line =
        fmt::format("control-in {} len={} -> ", setupHex(pu::setupForRead(length)), length);
    if (!r) {
        line += errorText(r.error());
    } else {
        line += fmt::format("{} bytes", r->size());
        if (length == pu::kRequestSize) {
            // Decode requests so that a transcript reads like the protocol.
            if (auto req = pu::decodeFileRequest(*r)) {
                line += fmt::format(" cmd={} name=\"{}\"", req->command, req->name);
            } else {
                line += fmt::format(" undecodable={}", pu::requestErrorName(req.error()));
            }
        } else if (length == 4 && r->size() == 4) {
            const auto& b = *r;
            line += fmt::format(" result={:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3]);
        }
    }
    add(std::move(line));
    return r;
}

void RecordingTransport::note(const std::string& line) {
    add("# " + line);
}

std::vector<std::string> RecordingTransport::lines() const {
    std::lock_guard lock(mu_);
    return lines_;
}

std::string RecordingTransport::text() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& l : lines_) {
        out += l;
        out += '\n';
    }
    return out;
}

void RecordingTransport::add(std::string line) {
    std::lock_guard lock(mu_);
    lines_.push_back(std::move(line));
}

}  // namespace pinet::core::usbboot
