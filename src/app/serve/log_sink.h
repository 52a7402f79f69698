#pragma once
// A BootEventSink that writes one log line per event (the minimal `serve` has
// no registry or dashboard yet; the daemon issue replaces this sink).

#include <mutex>

#include "core/boot_events.h"

namespace pinet::app {

class LogEventSink final : public core::BootEventSink {
public:
    void onEvent(const core::BootEvent& event) override;

private:
    std::mutex mutex_;
};

std::string describe(const core::BootEvent& event);

}  // namespace pinet::app
