#pragma once
// SIGINT/SIGTERM -> an atomic flag the USB runner polls, so Ctrl-C ends
// `usbboot --loop` and `flash` cleanly (devices closed, temp dir removed).

#include <atomic>

namespace pinet::app {

/// Installs the handlers once and returns the flag they set.
const std::atomic<bool>& installStopSignals();

}  // namespace pinet::app
