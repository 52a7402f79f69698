// `pinetboot flash`: update Raspberry Pi bootloader EEPROMs over USB in one
// command (the seed's rpi-eeprom-config + rpi-eeprom-digest + rpiboot flow).

#include <iostream>

#include <fmt/format.h>

#include "app/usbboot/flash.h"
#include "cli/command.h"
#include "cli/usb_run.h"
#include "io/file.h"
#include "io/usb/disk_fs_view.h"
#include "io/usb/libusb_source.h"

namespace pinet::cli {
namespace {

namespace pu = proto::usbboot;

struct FlashArgs {
    std::vector<std::string> sets;
    std::string config;
    std::string image;
    std::string bootcode;
    std::string firmwareDir;
    std::string key;
    std::string dryRun;
    unsigned chip = 0;
    std::size_t count = 0;
    UsbRunFlags run;
    bool force = false;
};

void runFlash(const FlashArgs& args) {
    app::FlashInputs in;
    in.firmwareDir = args.firmwareDir;
    in.image = args.image;
    in.bootcode = args.bootcode;
    in.config = args.config;
    in.keyPem = args.key;
    in.chip = args.chip;
    in.force = args.force;
    for (const auto& s : args.sets) {
        const auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) {
            printError(fmt::format("--set '{}': expected KEY=VALUE", s));
            setExitCode(kExitUsage);
            return;
        }
        in.sets.emplace_back(s.substr(0, eq), s.substr(eq + 1));
    }
    auto plan = app::prepareFlash(in);
    if (!plan) {
        printError(plan.error().message);
        setExitCode(kExitFailure);
        return;
    }
    if (!args.dryRun.empty()) {
        if (auto w = app::writeRecoveryFolder(*plan, args.dryRun); !w) {
            printError(w.error().message);
            setExitCode(kExitFailure);
            return;
        }
        std::cout << app::describePlan(*plan, args.dryRun) << "dry run: USB not touched\n";
        setExitCode(kExitOk);
        return;
    }

    auto source = io::LibusbDeviceSource::create();
    if (!source) {
        printError(source.error().message);
        setExitCode(kExitFailure);
        return;
    }
    io::TempDir folder("pinetboot-recovery");
    if (auto w = app::writeRecoveryFolder(*plan, folder.path()); !w) {
        printError(w.error().message);
        setExitCode(kExitFailure);
        return;
    }
    std::cout << app::describePlan(*plan, folder.path()) << std::flush;
    io::DiskFsView view(folder.path());
    app::RunnerOptions opt = consoleRunnerOptions(args.run);
    opt.providerFor = [&view](const core::usbboot::DeviceInfo& d) {
        return std::make_unique<core::usbboot::LookupFileProvider>(
            view, std::string(pu::chipPrefix(d.product)));
    };
    opt.maxBoards = args.count;

    const auto summary = app::runUsbboot(**source, opt);
    if (reportRunFailure(summary, args.run)) {
        return;
    }
    const auto results = app::flashResults(summary, *plan);
    std::cout << "\nresult:\n";
    bool allOk = !results.empty();
    for (const auto& r : results) {
        std::cout << fmt::format("  {:<10} serial {:<16} {:<4} {}{}\n", r.location,
                                 r.serial.empty() ? "-" : r.serial, r.ok ? "OK" : "FAIL", r.message,
                                 r.flashed.empty() ? "" : " (" + r.flashed + ")");
        allOk = allOk && r.ok;
    }
    if (results.empty()) {
        std::cout << "  no board was flashed\n";
    }
    setExitCode(allOk ? kExitOk : kExitFailure);
}

void setupFlash(CLI::App* sub) {
    auto args = std::make_shared<FlashArgs>();
    sub->add_option("--set", args->sets, "KEY=VALUE bootloader setting (repeatable)");
    sub->add_option("-c,--config", args->config, "Boot config file (default: the image's own)");
    sub->add_option("-i,--image", args->image, "EEPROM image (pieeprom-*.bin)");
    sub->add_option("-b,--bootcode", args->bootcode,
                    "Recovery second stage (recovery.bin, from rpi-eeprom or raspberrypi/usbboot)");
    sub->add_option("-f,--firmware-dir", args->firmwareDir,
                    "rpi-eeprom checkout: newest firmware-<chip>/default/pieeprom-*.bin and "
                    "recovery.bin");
    sub->add_option("-k,--key", args->key,
                    "RSA-2048 private key: sign pieeprom.bin (rsa2048 line)");
    sub->add_option("--chip", args->chip, "2711 (Pi 4/CM4) or 2712 (Pi 5/CM5); default from image");
    sub->add_option("--dry-run", args->dryRun,
                    "Write the recovery folder to DIR, print the plan, do not touch USB");
    sub->add_option("-n,--count", args->count, "Stop after this many boards (default: when idle)");
    addUsbRunFlags(sub, args->run);
    sub->add_flag("--force", args->force,
                  "Flash even if the config has lint errors or --bootcode does not look like "
                  "recovery.bin");
    sub->callback([args] { runFlash(*args); });
}

PINET_COMMAND(61, "flash",
              "Flash bootloader EEPROMs over USB: config, pieeprom.sig and rpiboot in one step",
              setupFlash);

}  // namespace
}  // namespace pinet::cli
