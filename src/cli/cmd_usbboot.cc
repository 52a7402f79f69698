// `pinetboot usbboot`: rpiboot over libusb-1.0 (spec eeprom-usbboot.md Part 2).

#include <algorithm>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "app/usbboot/runner.h"
#include "cli/command.h"
#include "cli/usb_run.h"
#include "io/file.h"
#include "io/usb/disk_fs_view.h"
#include "io/usb/libusb_source.h"

namespace pinet::cli {
namespace {

namespace fs = std::filesystem;
namespace pu = proto::usbboot;

struct UsbbootArgs {
    std::string dir;
    bool loop = false;
    bool list = false;
    bool overlay = false;
    std::string transcriptDir;
    UsbRunFlags run;
};

int listDevices(core::usbboot::DeviceSource& source) {
    auto devices = source.list();
    if (!devices) {
        printError(devices.error().message);
        return kExitFailure;
    }
    if (devices->empty()) {
        std::cout << "no Raspberry Pi in USB boot mode found\n";
        return kExitOk;
    }
    for (const auto& d : *devices) {
        std::cout << fmt::format("{} {:04x}:{:04x} bus {} address {} serial-index {} {} ({})\n",
                                 d.location, d.vendor, d.product, d.bus, d.address, d.serialIndex,
                                 pu::stageName(d.stage()), pu::secondStageName(d.product));
    }
    return kExitOk;
}

void writeTranscripts(const std::string& dir, const app::RunSummary& summary) {
    if (dir.empty()) {
        return;
    }
    std::size_t n = 0;
    for (const auto& s : summary.sessions) {
        if (s.transcript.empty()) {
            continue;
        }
        std::string loc = s.device.location;
        std::replace(loc.begin(), loc.end(), '.', '_');
        const auto path =
            fs::path(dir) / fmt::format("{:02}-{}-{}.txt", ++n, loc, pu::stageName(s.stage));
        if (auto w = io::writeFileAtomic(path, s.transcript); !w) {
            printError(w.error().message);
        }
    }
}

void runUsbbootCommand(const UsbbootArgs& args) {
    auto source = io::LibusbDeviceSource::create();
    if (!source) {
        printError(source.error().message);
        setExitCode(kExitFailure);
        return;
    }
    if (args.list) {
        setExitCode(listDevices(**source));
        return;
    }
    if (args.dir.empty() || !fs::is_directory(args.dir)) {
        printError(fmt::format("boot directory '{}' not found (use -d DIR)", args.dir));
        setExitCode(kExitUsage);
        return;
    }
    if (!args.transcriptDir.empty()) {
        std::error_code ec;
        fs::create_directories(args.transcriptDir, ec);
    }
    io::DiskFsView view(args.dir);
    // rpiboot's bootfiles mode (spec 2.6 step 1): DIR/bootfiles.bin is a tar of <chip>/NAME.
    std::shared_ptr<const core::usbboot::BootfilesArchive> bootfiles;
    if (auto archive = view.read("bootfiles.bin")) {
        auto loaded = core::usbboot::loadBootfiles(archive->data);
        if (!loaded) {
            printError(fmt::format("{}: {}", archive->source, loaded.error().message));
            setExitCode(kExitFailure);
            return;
        }
        bootfiles = *loaded;
        std::cout << fmt::format("bootfiles mode: {} ({} files)", archive->source,
                                 bootfiles->members.size())
                  << std::endl;
    }
    app::RunnerOptions opt = consoleRunnerOptions(args.run);
    opt.providerFor = [&view, &args, bootfiles](const core::usbboot::DeviceInfo& d) {
        return std::make_unique<core::usbboot::LookupFileProvider>(
            view, std::string(pu::chipPrefix(d.product)), args.overlay ? d.location : "",
            bootfiles);
    };
    opt.loop = args.loop;
    opt.recordTranscripts = !args.transcriptDir.empty();

    const auto summary = app::runUsbboot(**source, opt);
    writeTranscripts(args.transcriptDir, summary);
    if (reportRunFailure(summary, args.run)) {
        return;
    }
    bool ok = true;
    for (const auto& s : summary.sessions) {
        if (!s.ok) {
            ok = false;
        }
    }
    setExitCode(ok ? kExitOk : kExitFailure);
}

void setupUsbboot(CLI::App* sub) {
    auto args = std::make_shared<UsbbootArgs>();
    sub->add_option("-d,--dir", args->dir, "Boot directory (bootcode4.bin / bootcode5.bin, ...)");
    sub->add_flag("-l,--loop", args->loop, "Keep serving boards as they appear (Ctrl-C ends)");
    sub->add_flag("--list", args->list, "List boot-mode devices and exit");
    sub->add_flag("-o,--overlay", args->overlay, "Look in DIR/<usb-path>/ first (rpiboot -o)");
    sub->add_option("--transcript", args->transcriptDir,
                    "Write a transfer-by-transfer transcript per session here");
    addUsbRunFlags(sub, args->run);
    sub->callback([args] { runUsbbootCommand(*args); });
}

PINET_COMMAND(60, "usbboot",
              "Boot Raspberry Pis over USB (rpiboot): send the second stage, serve files",
              setupUsbboot);

}  // namespace
}  // namespace pinet::cli
