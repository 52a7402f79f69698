#include "app/serve/admission_service.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

namespace pinet::app {

namespace cb = core::boot;

namespace {
// A released board that no responder holds is dropped after this: every DHCP loop
// takes its own within its 25 ms release period, so what is left is a board whose
// held DISCOVER was not stored; it is answered at its next DISCOVER, being admitted.
constexpr std::chrono::seconds kReleasedKeep{2};
}  // namespace

std::uint64_t bootPlanBytes(const std::string& root, const std::string& defaultDir) {
    namespace fs = std::filesystem;
    const fs::path dir = defaultDir.empty() ? fs::path(root) : fs::path(root) / defaultDir;
    auto size = [&](const char* name) -> std::uint64_t {
        std::error_code ec;
        const auto st = fs::symlink_status(dir / name, ec);
        if (ec || !fs::is_regular_file(st)) {
            return 0;
        }
        const auto n = fs::file_size(dir / name, ec);
        return ec ? 0 : n;
    };
    std::uint64_t total = 0;
    for (const char* f : {"start4.elf", "fixup4.dat", "config.txt", "cmdline.txt", "initramfs8"}) {
        total += size(f);
    }
    total += std::max({size("kernel8.img"), size("kernel_2712.img"), size("kernel7l.img")});
    total += std::max(
        {size("bcm2711-rpi-4-b.dtb"), size("bcm2711-rpi-cm4.dtb"), size("bcm2712-rpi-5-b.dtb")});
    if (total == 0) {
        total = size("boot.img");  // HTTP boot only
    }
    return total;
}

AdmissionService::AdmissionService(cb::AdmissionConfig config)
    : controller_(config), enabled_(config.enabled) {}

cb::AdmitResult AdmissionService::request(std::string_view board, cb::SteadyClock::time_point now,
                                          std::optional<std::uint32_t> address) {
    std::lock_guard lock(mutex_);
    const auto r = controller_.request(board, now, address);
    logNotices();
    return r;
}

void AdmissionService::bindAddress(std::string_view board, std::uint32_t address) {
    std::lock_guard lock(mutex_);
    controller_.bindAddress(board, address);
}

void AdmissionService::onDelivered(std::span<const cb::Delivery> deliveries,
                                   cb::SteadyClock::time_point now) {
    std::lock_guard lock(mutex_);
    for (const auto& d : deliveries) {
        controller_.onDelivered(d.address, d.bytes, now, d.ceiling);
    }
}

void AdmissionService::onDelivered(std::uint32_t address, std::uint64_t bytes,
                                   cb::SteadyClock::time_point now) {
    std::lock_guard lock(mutex_);
    controller_.onDelivered(address, bytes, now);
}

std::vector<std::string> AdmissionService::takeReleased(
    cb::SteadyClock::time_point now, const std::function<bool(std::string_view)>& mine) {
    std::lock_guard lock(mutex_);
    controller_.tick(now);
    logNotices();
    for (auto& b : controller_.takeReleased()) {
        pending_.emplace_back(std::move(b), now);
    }
    std::vector<std::string> out;
    std::erase_if(pending_, [&](auto& p) {
        if (mine(p.first)) {
            out.push_back(std::move(p.first));
            return true;
        }
        return now - p.second > kReleasedKeep;
    });
    return out;
}

void AdmissionService::tick(cb::SteadyClock::time_point now) {
    std::lock_guard lock(mutex_);
    controller_.tick(now);
    logNotices();
}

std::optional<std::size_t> AdmissionService::positionOf(std::string_view board) {
    std::lock_guard lock(mutex_);
    return controller_.positionOf(board);
}

std::optional<cb::SteadyClock::duration> AdmissionService::waitOf(std::string_view board) {
    std::lock_guard lock(mutex_);
    return controller_.waitOf(board);
}

void AdmissionService::setInitialPlanBytes(std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    controller_.setInitialPlanBytes(bytes);
}

cb::AdmissionSnapshot AdmissionService::snapshot() const {
    std::lock_guard lock(mutex_);
    return controller_.snapshot(cb::SteadyClock::now());
}

void AdmissionService::logNotices() {
    for (const auto& n : controller_.takeNotices()) {
        const double mbps = static_cast<double>(n.throughput) * 8 / 1e6;
        if (n.kind == cb::AdmissionNotice::Kind::HoldingStarted) {
            spdlog::info(
                "admission: boot storm, holding boards ({} admitted, {} waiting, "
                "{:.0f} Mbit/s measured)",
                n.admitted, n.waiting, mbps);
        } else {
            spdlog::info(
                "admission: storm over after {:.1f} s: {} boards waited, the longest "
                "{:.1f} s ({:.0f} Mbit/s measured)",
                std::chrono::duration<double>(n.duration).count(), n.boardsHeld,
                std::chrono::duration<double>(n.longestWait).count(), mbps);
        }
    }
}

}  // namespace pinet::app
