// Fuzz target: every device-to-host byte of rpiboot. The input is split into
// control-IN replies that a simulated device returns to the real file server
// (request decoding, metadata parsing, unknown commands, short replies), and
// each reply is also fed to the pure decoders directly, including the
// bootfiles.bin tar index.

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/usbboot/session.h"
#include "proto/usbboot/messages.h"
#include "proto/usbboot/tar.h"

namespace {

using namespace pinet::core::usbboot;
namespace pu = pinet::proto::usbboot;

/// Replays fuzzer-chosen replies: each starts with a length byte (0xff = fail
/// with a status picked by the next byte), then that many bytes.
class ReplayTransport : public UsbTransport {
public:
    explicit ReplayTransport(std::span<const std::uint8_t> data) : data_(data) {}
    UsbResult<void> controlOut(std::uint32_t, Millis) override { return {}; }
    UsbResult<std::size_t> bulkOut(std::span<const std::uint8_t> d, Millis) override {
        return d.size();
    }
    UsbResult<std::vector<std::uint8_t>> controlIn(std::uint16_t length, Millis) override {
        if (pos_ >= data_.size()) {
            return tl::unexpected(UsbError{UsbStatus::NoDevice, "end of input"});
        }
        const std::uint8_t tag = data_[pos_++];
        if (tag == 0xff) {
            const std::uint8_t s = pos_ < data_.size() ? data_[pos_++] : 0;
            return tl::unexpected(UsbError{static_cast<UsbStatus>(s % 6), "fuzz"});
        }
        // Lengths 0..254 scaled so that a full 260-byte request is reachable.
        std::size_t n = std::min<std::size_t>(tag * 2u, length);
        n = std::min(n, data_.size() - pos_);
        std::vector<std::uint8_t> out(data_.begin() + static_cast<long>(pos_),
                                      data_.begin() + static_cast<long>(pos_ + n));
        pos_ += n;
        return out;
    }

private:
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
};

class SmallFs : public FsView {
public:
    std::optional<ServedFile> read(const std::string& rel) override {
        if (rel == "config.txt" || rel == "2711/pieeprom.bin") {
            return ServedFile{rel, blob_};
        }
        return std::nullopt;
    }

private:
    std::shared_ptr<const std::vector<std::uint8_t>> blob_ =
        std::make_shared<const std::vector<std::uint8_t>>(std::vector<std::uint8_t>(40000, 0xab));
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> in(data, size);
    // Pure decoders over the raw input.
    if (auto req = pu::decodeFileRequest(in)) {
        (void)pu::isMetadataRequest(*req);
        if (auto m = pu::parseMetadata(req->name)) {
            std::vector<pu::MetadataEntry> v{*m};
            (void)pu::metadataJson(v);
        }
        (void)lookupCandidates(req->name, "2711", "1-1.2");
    }
    (void)pu::decodeBootMessage(in);
    if (auto members = pu::indexTar(in)) {
        for (const auto& m : *members) {
            // Every member must lie inside the input.
            if (m.offset > size || m.size > size - m.offset) {
                __builtin_trap();
            }
        }
    }
    // The whole file server against fuzzer-chosen device replies.
    ReplayTransport t(in);
    SmallFs fs;
    LookupFileProvider files(fs, "2711");
    FileServerOptions opt;
    opt.maxRequests = 64;  // keep one input fast
    auto res = serveFiles(t, files, opt);
    (void)pu::metadataJson(res.metadata);
    return 0;
}
