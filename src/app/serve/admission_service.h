#pragma once
// The one admission controller of `serve` (issue #14), shared by the DHCP
// responders, the TFTP server and HTTP boot: core::boot::AdmissionController
// under a mutex, on the steady clock, with its notices logged.

#include <mutex>
#include <string>

#include "core/boot/admission.h"

namespace pinet::app {

/// The bytes a Pi 4 boot fetches from @p root (or its @p defaultDir, relative):
/// start4.elf, fixup4.dat, config.txt, cmdline.txt, the largest of the kernels and of
/// the device trees there, and initramfs8 when present; 0 when none is found. The
/// seed of the plan estimate until boards have finished (a Pi 5 fetches about the
/// same over TFTP, or one boot.img over HTTP, which is then counted instead).
std::uint64_t bootPlanBytes(const std::string& root, const std::string& defaultDir);

class AdmissionService final : public core::boot::AdmissionGate {
public:
    explicit AdmissionService(core::boot::AdmissionConfig config);

    core::boot::AdmitResult request(std::string_view board, core::boot::SteadyClock::time_point now,
                                    std::optional<std::uint32_t> address) override;
    void bindAddress(std::string_view board, std::uint32_t address) override;
    void onDelivered(std::span<const core::boot::Delivery> deliveries,
                     core::boot::SteadyClock::time_point now) override;
    std::vector<std::string> takeReleased(
        core::boot::SteadyClock::time_point now,
        const std::function<bool(std::string_view)>& mine) override;
    std::optional<std::size_t> positionOf(std::string_view board) override;
    std::optional<core::boot::SteadyClock::duration> waitOf(std::string_view board) override;

    /// HTTP boot's bytes to one address.
    void onDelivered(std::uint32_t address, std::uint64_t bytes,
                     core::boot::SteadyClock::time_point now);
    void setInitialPlanBytes(std::uint64_t bytes);
    /// Runs the controller's timers without taking what it released (for a server
    /// with no DHCP, where nobody else ticks it).
    void tick(core::boot::SteadyClock::time_point now);
    [[nodiscard]] core::boot::AdmissionSnapshot snapshot() const;
    [[nodiscard]] bool enabled() const { return enabled_; }

private:
    void logNotices();  // with mutex_ held

    /// Released boards no responder has taken yet (another interface's, or gone),
    /// with when they were released; dropped after kReleasedKeep.
    std::vector<std::pair<std::string, core::boot::SteadyClock::time_point>> pending_;
    mutable std::mutex mutex_;
    core::boot::AdmissionController controller_;
    bool enabled_;
};

}  // namespace pinet::app
