#include "app/usbboot/signals.h"

#include <csignal>

namespace pinet::app {

namespace {
std::atomic<bool> gStop{false};
extern "C" void onStopSignal(int /*sig*/) {
    gStop.store(true);
}
}  // namespace

const std::atomic<bool>& installStopSignals() {
    static const bool installed = [] {
        struct sigaction sa {};
        sa.sa_handler = onStopSignal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
        return true;
    }();
    (void)installed;
    return gStop;
}

}  // namespace pinet::app
