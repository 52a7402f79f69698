#include "lib/usb_device_sim.h"

#include <algorithm>

#include <fmt/format.h>

#include "proto/byte_reader.h"
#include "proto/usbboot/messages.h"

namespace pinet::test {

namespace pu = proto::usbboot;
using core::usbboot::DeviceInfo;
using core::usbboot::Millis;
using core::usbboot::UsbError;
using core::usbboot::UsbResult;
using core::usbboot::UsbStatus;

std::vector<SimRequest> recoveryScript() {
    return {
        {0, "config.txt"},
        {1, "config.txt"},
        {0, "vl805.sig"},
        {0, "pieeprom.sig"},
        {1, "pieeprom.sig"},
        {0, "pieeprom.upd"},
        {0, "pieeprom.bin"},
        {1, "pieeprom.bin"},
        {0, "*EEPROM_UPDATE*success"},
        {0, "*MAC_ADDR*d8:3a:dd:00:00:01"},
        {2, ""},
    };
}

SimBoard::SimBoard(std::uint16_t product, std::string serial, std::string location,
                   std::vector<SimRequest> script, SimFaults faults, bool startInSecondStage)
    : product_(product),
      serial_(std::move(serial)),
      location_(std::move(location)),
      script_(std::move(script)),
      faults_(std::move(faults)),
      phase_(startInSecondStage ? Phase::Stage2WantRead : Phase::RomWantBootLen),
      timeoutsLeft_(faults_.timeouts) {}

UsbError SimBoard::violation(const std::string& what) {
    violations_.push_back(what);
    return UsbError{UsbStatus::Pipe, "simulated device: protocol violation: " + what};
}

UsbError SimBoard::gone() {
    disconnected_ = true;
    phase_ = Phase::Gone;
    return UsbError{UsbStatus::NoDevice, "simulated device gone"};
}

UsbResult<void> SimBoard::controlOut(std::uint32_t value, Millis /*timeout*/) {
    std::lock_guard lock(mu_);
    switch (phase_) {
        case Phase::RomWantBootLen:
            if (value != pu::kBootMessageSize) {
                return tl::unexpected(violation(fmt::format("ROM: boot message length {}", value)));
            }
            bootMsg_.clear();
            phase_ = Phase::RomWantBootMsg;
            return {};
        case Phase::RomWantFileLen:
            if (value != expectLen_) {
                return tl::unexpected(violation(fmt::format(
                    "ROM: second stage announced {} but boot message said {}", value, expectLen_)));
            }
            secondStage_.clear();
            phase_ = Phase::RomWantFile;
            return {};
        case Phase::Stage2WantReply: {
            const auto& req = current_;
            if (req.name.empty() || pu::isMetadataRequest({req.command, req.name})) {
                if (value != 0) {
                    return tl::unexpected(violation("expected a zero-length reply to " + req.name));
                }
                phase_ = req.name.empty() ? Phase::Finished : Phase::Stage2WantRead;
                return {};
            }
            if (req.command == 0) {
                sizes_[req.name] = value;
                if (value == 0) {
                    missing_.push_back(req.name);
                }
                phase_ = Phase::Stage2WantRead;
                return {};
            }
            if (req.command == 1) {
                auto it = sizes_.find(req.name);
                const std::uint32_t expect = it == sizes_.end() ? 0 : it->second;
                if (value != expect) {
                    return tl::unexpected(violation(
                        fmt::format("ReadFile {}: announced {} bytes, GetFileSize said {}",
                                    req.name, value, expect)));
                }
                if (value == 0) {
                    phase_ = Phase::Stage2WantRead;
                    return {};
                }
                receiving_ = req.name;
                buffer_.clear();
                phase_ = Phase::Stage2WantData;
                return {};
            }
            return tl::unexpected(violation("reply to a request that wants none"));
        }
        case Phase::RomDone:
        case Phase::Finished:
        case Phase::Gone: return tl::unexpected(gone());
        default: return tl::unexpected(violation(fmt::format("unexpected control OUT {}", value)));
    }
}

UsbResult<std::size_t> SimBoard::bulkOut(std::span<const std::uint8_t> data, Millis /*timeout*/) {
    std::lock_guard lock(mu_);
    if (data.size() > pu::kMaxBulkChunk) {
        return tl::unexpected(violation(fmt::format("bulk piece of {} bytes", data.size())));
    }
    switch (phase_) {
        case Phase::RomWantBootMsg: {
            if (bootMsg_.size() + data.size() > pu::kBootMessageSize) {
                return tl::unexpected(violation("boot message longer than 24 bytes"));
            }
            bootMsg_.insert(bootMsg_.end(), data.begin(), data.end());
            if (bootMsg_.size() == pu::kBootMessageSize) {
                auto msg = pu::decodeBootMessage(bootMsg_);
                if (!msg || msg->length == 0) {
                    return tl::unexpected(violation("bad boot message"));
                }
                expectLen_ = msg->length;
                phase_ = Phase::RomWantFileLen;
            }
            return data.size();
        }
        case Phase::RomWantFile: {
            if (faults_.vanishInRom && secondStage_.size() + data.size() > expectLen_ / 2) {
                return tl::unexpected(gone());
            }
            if (secondStage_.size() + data.size() > expectLen_) {
                return tl::unexpected(violation("second stage longer than announced"));
            }
            secondStage_.insert(secondStage_.end(), data.begin(), data.end());
            if (secondStage_.size() == expectLen_) {
                phase_ = Phase::RomWantResultRead;
            }
            return data.size();
        }
        case Phase::Stage2WantData: {
            const std::size_t want = sizes_[receiving_];
            if (receiving_ == faults_.vanishDuring &&
                buffer_.size() + data.size() > faults_.vanishAfter) {
                return tl::unexpected(gone());
            }
            std::size_t take = data.size();
            if (receiving_ == faults_.shortBulkDuring && !shortBulkDone_ &&
                buffer_.size() + data.size() > faults_.shortBulkAt) {
                take =
                    faults_.shortBulkAt > buffer_.size() ? faults_.shortBulkAt - buffer_.size() : 0;
                shortBulkDone_ = true;
            }
            if (buffer_.size() + take > want) {
                return tl::unexpected(violation("file data longer than announced"));
            }
            buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<long>(take));
            if (buffer_.size() == want) {
                received_[receiving_] = buffer_;
                phase_ = Phase::Stage2WantRead;
            }
            return take;
        }
        case Phase::RomDone:
        case Phase::Finished:
        case Phase::Gone: return tl::unexpected(gone());
        default:
            return tl::unexpected(violation(fmt::format("unexpected bulk OUT of {}", data.size())));
    }
}

UsbResult<std::vector<std::uint8_t>> SimBoard::controlIn(std::uint16_t length, Millis /*timeout*/) {
    std::lock_guard lock(mu_);
    switch (phase_) {
        case Phase::RomWantResultRead: {
            if (length != 4) {
                return tl::unexpected(violation(fmt::format("ROM: result read of {}", length)));
            }
            std::vector<std::uint8_t> out(4);
            proto::putU32le(out.data(), static_cast<std::uint32_t>(faults_.romResult));
            phase_ = Phase::RomDone;
            return out;
        }
        case Phase::Stage2WantRead: {
            if (length != pu::kRequestSize) {
                return tl::unexpected(violation(fmt::format("request read of {}", length)));
            }
            if (faults_.timeoutAtRequest && *faults_.timeoutAtRequest == reads_ &&
                timeoutsLeft_ > 0) {
                --timeoutsLeft_;
                return tl::unexpected(UsbError{UsbStatus::Timeout, "simulated timeout"});
            }
            if (next_ >= script_.size()) {
                // Script over without Done: the board resets (spec 2.5 step 1).
                return tl::unexpected(gone());
            }
            const std::size_t readIndex = reads_++;
            current_ = script_[next_];
            const auto bytes = pu::encodeFileRequest(current_.command, current_.name);
            if (faults_.shortRequestAt && *faults_.shortRequestAt == readIndex) {
                // A truncated request; the device expects a NAK and sends it again.
                current_ = SimRequest{0, "*"};  // answered by a zero-length write
                phase_ = Phase::Stage2WantReply;
                return std::vector<std::uint8_t>(
                    bytes.begin(), bytes.begin() + static_cast<long>(std::min(
                                                       faults_.shortRequestBytes, bytes.size())));
            }
            ++next_;
            if (current_.command == 2 && !current_.name.empty()) {
                phase_ = Phase::Finished;  // Done: no reply expected (spec 2.5 step 6)
            } else {
                phase_ = Phase::Stage2WantReply;
            }
            return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
        }
        case Phase::RomDone:
        case Phase::Finished:
        case Phase::Gone: return tl::unexpected(gone());
        default: return tl::unexpected(violation(fmt::format("unexpected control IN {}", length)));
    }
}

bool SimBoard::present() const {
    std::lock_guard lock(mu_);
    return !disconnected_ && hidden_ == 0 && phase_ != Phase::RomDone;
}

DeviceInfo SimBoard::info() const {
    std::lock_guard lock(mu_);
    DeviceInfo d;
    d.location = location_;
    d.bus = 1;
    d.address = address_;
    d.vendor = pu::kVendorBroadcom;
    d.product = product_;
    const bool rom = phase_ == Phase::RomWantBootLen || phase_ == Phase::RomWantBootMsg ||
                     phase_ == Phase::RomWantFileLen || phase_ == Phase::RomWantFile ||
                     phase_ == Phase::RomWantResultRead || phase_ == Phase::RomDone;
    if (rom) {
        d.serialIndex = (product_ == pu::kProduct2711 || product_ == pu::kProduct2712) ? 3 : 0;
    } else {
        d.serialIndex = 1;
    }
    return d;
}

std::string SimBoard::serialString() const {
    std::lock_guard lock(mu_);
    const bool rom = phase_ == Phase::RomWantBootLen || phase_ == Phase::RomWantBootMsg ||
                     phase_ == Phase::RomWantFileLen || phase_ == Phase::RomWantFile ||
                     phase_ == Phase::RomWantResultRead;
    return rom ? std::string() : serial_;
}

void SimBoard::closed() {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::RomDone) {
        // Re-enumerate as the second stage, at a new address (spec 2.4 step 5).
        phase_ = Phase::Stage2WantRead;
        ++address_;
        hidden_ = reenumerateDelay_;
    }
}

void SimBoard::tick() {
    std::lock_guard lock(mu_);
    if (hidden_ > 0) {
        --hidden_;
    }
}

bool SimBoard::romDone() const {
    std::lock_guard lock(mu_);
    return !secondStage_.empty() && secondStage_.size() == expectLen_ &&
           phase_ != Phase::RomWantFile;
}

bool SimBoard::finished() const {
    std::lock_guard lock(mu_);
    return phase_ == Phase::Finished;
}

std::vector<std::uint8_t> SimBoard::secondStageReceived() const {
    std::lock_guard lock(mu_);
    return secondStage_;
}

std::map<std::string, std::vector<std::uint8_t>> SimBoard::received() const {
    std::lock_guard lock(mu_);
    return received_;
}

std::vector<std::string> SimBoard::missing() const {
    std::lock_guard lock(mu_);
    return missing_;
}

std::vector<std::string> SimBoard::violations() const {
    std::lock_guard lock(mu_);
    return violations_;
}

namespace {

class SimOpenDevice : public core::usbboot::OpenDevice {
public:
    explicit SimOpenDevice(std::shared_ptr<SimBoard> board) : board_(std::move(board)) {}
    ~SimOpenDevice() override { board_->closed(); }
    SimOpenDevice(const SimOpenDevice&) = delete;
    SimOpenDevice& operator=(const SimOpenDevice&) = delete;
    core::usbboot::UsbTransport& transport() override { return *board_; }
    std::string serial() override { return board_->serialString(); }

private:
    std::shared_ptr<SimBoard> board_;
};

}  // namespace

UsbResult<std::vector<DeviceInfo>> SimBus::list() {
    std::vector<DeviceInfo> out;
    for (auto& b : boards_) {
        b->tick();
        if (b->present()) {
            out.push_back(b->info());
        }
    }
    return out;
}

UsbResult<std::unique_ptr<core::usbboot::OpenDevice>> SimBus::open(const DeviceInfo& info) {
    if (openFailure_) {
        return tl::unexpected(UsbError{*openFailure_, "simulated open failure"});
    }
    for (auto& b : boards_) {
        if (b->present() && b->info().key() == info.key()) {
            return std::unique_ptr<core::usbboot::OpenDevice>(std::make_unique<SimOpenDevice>(b));
        }
    }
    return tl::unexpected(UsbError{UsbStatus::NoDevice, "no such simulated device"});
}

}  // namespace pinet::test
