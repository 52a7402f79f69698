#pragma once
// The real admission controller behind the gate interface, without the app's lock,
// recording what the servers tell it (for the DHCP and TFTP unit tests).

#include <string>
#include <utility>
#include <vector>

#include "core/boot/admission.h"

namespace pinet::test {

class TestAdmissionGate final : public core::boot::AdmissionGate {
public:
    explicit TestAdmissionGate(core::boot::AdmissionConfig c) : controller(c) {}
    core::boot::AdmitResult request(std::string_view b, core::boot::SteadyClock::time_point now,
                                    std::optional<std::uint32_t> a) override {
        ++requests;
        return controller.request(b, now, a);
    }
    void bindAddress(std::string_view b, std::uint32_t a) override {
        bound.emplace_back(b, a);
        controller.bindAddress(b, a);
    }
    void onDelivered(std::span<const core::boot::Delivery> ds,
                     core::boot::SteadyClock::time_point now) override {
        for (const auto& d : ds) {
            delivered.push_back(d);
            controller.onDelivered(d.address, d.bytes, now);
        }
    }
    std::vector<std::string> takeReleased(
        core::boot::SteadyClock::time_point now,
        const std::function<bool(std::string_view)>& mine) override {
        controller.tick(now);
        std::vector<std::string> out;
        for (auto& b : controller.takeReleased()) {
            if (mine(b)) {
                out.push_back(std::move(b));
            }
        }
        return out;
    }
    std::optional<std::size_t> positionOf(std::string_view b) override {
        return controller.positionOf(b);
    }
    std::optional<core::boot::SteadyClock::duration> waitOf(std::string_view b) override {
        return controller.waitOf(b);
    }

    core::boot::AdmissionController controller;
    int requests = 0;
    std::vector<std::pair<std::string, std::uint32_t>> bound;
    std::vector<core::boot::Delivery> delivered;
};

}  // namespace pinet::test
