#include "cli/usb_run.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "app/usbboot/signals.h"
#include "cli/command.h"
#include "cli/progress.h"

namespace pinet::cli {

void addUsbRunFlags(CLI::App* sub, UsbRunFlags& f) {
    sub->add_option("-p,--port", f.port, "Only the board at this USB path, e.g. 1-1.3");
    sub->add_option("-j,--metadata-dir", f.metadataDir,
                    "Write each board's metadata report as <serial>.json here");
    sub->add_option("--timeout", f.timeoutSeconds,
                    "Give up if no board appears within this many seconds (0 = wait forever)");
}

app::RunnerOptions consoleRunnerOptions(const UsbRunFlags& f) {
    if (!f.metadataDir.empty()) {
        // A failure shows up when the runner writes the first report.
        std::error_code ec;
        std::filesystem::create_directories(f.metadataDir, ec);
    }
    app::RunnerOptions opt;
    opt.port = f.port;
    opt.metadataDir = f.metadataDir;
    opt.noDeviceTimeout =
        std::chrono::milliseconds(static_cast<long long>(f.timeoutSeconds * 1000));
    opt.pause = [](core::usbboot::Millis m) {
        std::this_thread::sleep_for(m);
    };
    if (::isatty(STDERR_FILENO) == 1) {
        // On a terminal a bar over the files in flight; each line ends the bar's line first.
        struct Console {
            ProgressBar bar;
            TransferBar transfers{bar, "sending"};
        };
        auto console = std::make_shared<Console>();
        opt.print = [console](const std::string& line) {
            console->transfers.interrupt();
            std::cout << line << std::endl;
        };
        opt.progress = [console](const std::string& board, const std::string& file,
                                 std::size_t sent, std::size_t total) {
            if (total == 0) {
                console->transfers.forget(board + " ");
            } else {
                console->transfers.update(board + " " + file, sent, total);
            }
        };
    } else {
        opt.print = [](const std::string& line) {
            std::cout << line << std::endl;
        };
    }
    opt.stop = &app::installStopSignals();
    return opt;
}

bool reportRunFailure(const app::RunSummary& summary, const UsbRunFlags& f) {
    if (!summary.fatal.empty()) {
        printError(summary.fatal);
        setExitCode(kExitFailure);
        return true;
    }
    if (summary.noDevice) {
        printError(fmt::format(
            "no Raspberry Pi in USB boot mode appeared within {} s: check the USB cable (data, "
            "not charge-only), the nRPIBOOT jumper/button, and `lsusb | grep 0a5c`",
            f.timeoutSeconds));
        setExitCode(kExitFailure);
        return true;
    }
    return false;
}

}  // namespace pinet::cli
