#pragma once
// What `pinetboot usbboot` and `pinetboot flash` share around the rpiboot
// runner (app::runUsbboot): the --port/--metadata-dir/--timeout options, the
// console wiring of RunnerOptions (real sleep, one stdout line per event,
// Ctrl-C) and the report of a run that never reached a board.

#include <string>

#include <CLI/CLI.hpp>

#include "app/usbboot/runner.h"

namespace pinet::cli {

struct UsbRunFlags {
    std::string port;
    std::string metadataDir;
    double timeoutSeconds = 0;
};

/// Adds -p/--port, -j/--metadata-dir and --timeout to @p sub.
void addUsbRunFlags(CLI::App* sub, UsbRunFlags& f);

/// RunnerOptions for a console run: the flags, std::this_thread::sleep_for,
/// progress lines to stdout, and the SIGINT/SIGTERM stop flag. Creates the
/// metadata directory. The caller sets providerFor and anything else.
app::RunnerOptions consoleRunnerOptions(const UsbRunFlags& f);

/// Prints the error of a run that failed as a whole (the bus could not be
/// listed, or no board appeared within --timeout) and sets kExitFailure.
/// Returns true if it did.
bool reportRunFailure(const app::RunSummary& summary, const UsbRunFlags& f);

}  // namespace pinet::cli
