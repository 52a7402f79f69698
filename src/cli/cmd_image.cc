// pinetboot image import|add|cat|list|remove: OS images in the state directory.

#include <chrono>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/client/client_actions.h"
#include "app/image/image_report.h"
#include "app/image/image_store.h"
#include "app/image/in_place.h"
#include "app/json_text.h"
#include "cli/command.h"
#include "cli/progress.h"
#include "cli/server_settings_flags.h"
#include "io/file.h"
#include "io/registry/registry.h"
#include "proto/netboot/boot_config.h"

namespace pinet::cli {

namespace {

struct ImageOpts {
    std::string stateDir;
    std::string file;
    std::string name;
    bool json = false;
    bool force = false;
    bool inPlace = false;
    std::string path;    ///< image cat
    double timeout = 0;  ///< seconds; 0: app::importTimeout
    std::uint64_t maxSize = app::kDefaultMaxImageBytes;
};

void doImport(const ImageOpts& o) {
    std::string dir = stateDir(o.stateDir);
    ProgressBar bar;
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    app::ImportOptions opts;
    opts.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout * 1000));
    opts.maxBytes = o.maxSize;
    auto r = app::importImage(
        dir, o.file, o.name, now,
        [&](const std::string& s, std::uint64_t d, std::uint64_t t) { bar.update(s, d, t); }, opts);
    if (r) {
        bar.complete();  // the last stage at 100 %, however its last update ended
    }
    bar.finish();
    if (!r) {
        printError(r.error().message);
        setExitCode(kExitFailure);
        return;
    }
    std::cout << fmt::format(
        "imported {}: {} table, boot {} ({} files, PARTUUID {}), root ext4 ({} entries, {:.1f} "
        "MiB, PARTUUID {}), models: {}\n",
        r->name, r->table, r->bootFs, r->bootFiles, r->bootPartuuid, r->rootFiles,
        static_cast<double>(r->rootBytes) / 1048576.0, r->rootPartuuid,
        r->models.empty() ? "none found" : r->models);
    if (r->bootLayout == "invalid") {
        std::cout << fmt::format(
            "boot layout: config.txt cannot be followed ({}); client add will refuse it\n",
            r->layoutError);
    } else if (r->bootLayout != "flat") {
        std::cout << fmt::format(
            "boot layout: {}{} (config.txt moves the boot files; "
            "image.json's boot_chains lists them per model)\n",
            r->bootLayout, r->bootTryboot ? ", with tryboot" : "");
    }
    if (r->securityXattrs + r->droppedXattrs + r->refusedXattrs > 0) {
        std::cout << fmt::format(
            "extended attributes the reader may not set: {} security.* set, {} refused by this "
            "host, {} trusted.* dropped (server-side metadata an image has no business setting)\n",
            r->securityXattrs, r->refusedXattrs, r->droppedXattrs);
        for (const auto& n : r->xattrNotes) {
            std::cout << "  " << n << '\n';
        }
    }
}

void doAdd(const ImageOpts& o) {
    if (!o.inPlace) {
        printError(
            "image add registers an image file served in place: give --in-place (to "
            "extract the image instead: pinetboot image import FILE --name NAME)");
        setExitCode(kExitUsage);
        return;
    }
    const std::string dir = stateDir(o.stateDir);
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    auto info = app::addImageInPlace(
        dir, o.file, o.name, now,
        std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout * 1000)));
    if (!info) {
        printError(info.error().message);
        setExitCode(kExitFailure);
        return;
    }
    std::cout << fmt::format(
        "added image {} in place: {} ({}), {} boot files ({}) mapped, models: {}, layout: {}\n"
        "the file is read, never written; it must not change while registered (size and mtime "
        "are checked)\n",
        info->name, info->source, info->table, info->bootFiles, info->bootFs,
        info->models.empty() ? "-" : info->models, info->bootLayout);
}

void doCat(const ImageOpts& o) {
    // One boot file as a board would get it: out of the image file for an in-place image,
    // from images/NAME/boot for an imported one.
    const std::string dir = stateDir(o.stateDir);
    auto info = app::findImage(dir, o.name);
    if (!info) {
        printError(info.error().message);
        setExitCode(kExitFailure);
        return;
    }
    auto out = [](std::span<const std::uint8_t> d) -> Result<void> {
        std::cout.write(reinterpret_cast<const char*>(d.data()),
                        static_cast<std::streamsize>(d.size()));
        return std::cout ? Result<void>{} : fail("cannot write to standard output");
    };
    if (info->inPlace) {
        auto files = app::openInPlace(*info);
        if (!files) {
            printError(files.error().message);
            setExitCode(kExitFailure);
            return;
        }
        const auto* f = files->find(o.path);
        if (f == nullptr) {
            printError(fmt::format("{}: no boot file {} in image {}", o.path, o.path, o.name));
            setExitCode(kExitFailure);
            return;
        }
        if (auto r = files->readFile(*f, out); !r) {
            printError(r.error().message);
            setExitCode(kExitFailure);
        }
        return;
    }
    if (!proto::netboot::isSafeBootPath(o.path)) {
        printError(fmt::format("{}: not a path inside the boot partition", o.path));
        setExitCode(kExitFailure);
        return;
    }
    auto bytes = io::readFile(info->boot() / o.path);
    if (!bytes) {
        printError(fmt::format("{}: no boot file {} in image {}", o.path, o.path, o.name));
        setExitCode(kExitFailure);
        return;
    }
    (void)out(*bytes);
}

void doList(const ImageOpts& o) {
    const std::string dir = stateDir(o.stateDir);
    // Which clients use each image: only from a registry that exists (listing
    // images must not create one).
    std::vector<io::ClientRecord> clients;
    std::error_code ec;
    if (storeUrlFromEnv() ||
        std::filesystem::exists(std::filesystem::path(dir) / "registry.db", ec)) {
        auto reg = openRegistryFor(dir, app::config::Config{});
        if (!reg) {
            setExitCode(kExitFailure);
            return;
        }
        auto all = reg->list();
        if (!all) {
            printError(all.error().message);
            setExitCode(kExitFailure);
            return;
        }
        clients = std::move(*all);
    }
    // The same report as GET /api/v1/images (app/image/image_report).
    auto r = app::imageReports(dir, clients);
    if (!r) {
        printError(r.error().message);
        setExitCode(kExitFailure);
        return;
    }
    if (o.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& i : *r) {
            arr.push_back(app::imageReportJson(i));
        }
        std::cout << app::dumpJson(arr, 2) << '\n';
        return;
    }
    if (r->empty()) {
        std::cout << "no images yet: pinetboot image import FILE --name NAME\n";
        return;
    }
    for (const auto& rep : *r) {
        const auto& i = rep.info;
        std::string users;
        for (const auto& c : rep.clients) {
            users += (users.empty() ? "" : ",") + c;
        }
        std::cout << fmt::format("{:<20} {:>4} {:>10.1f} MiB  models: {:<20} clients: {:<20} {}\n",
                                 i.name, i.table, static_cast<double>(rep.sizeBytes) / 1048576.0,
                                 i.models.empty() ? "-" : i.models, users.empty() ? "-" : users,
                                 i.inPlace ? "in place: " + i.source : i.source);
    }
}

void doRemove(const ImageOpts& o) {
    std::string dir = stateDir(o.stateDir);
    // No --config here: the store is SQLite in the state directory, or $PINETBOOT_STORE_URL.
    auto reg = openRegistryFor(dir, app::config::Config{});
    if (!reg) {
        return;
    }
    if (auto r = app::removeUnusedImage(dir, *reg, o.name); !r) {
        printError(r.error().message);
        setExitCode(kExitFailure);
        return;
    }
    std::cout << "removed image " << o.name << '\n';
}

void setup(CLI::App* cmd) {
    auto opts = std::make_shared<ImageOpts>();
    cmd->require_subcommand(1);
    auto* imp = cmd->add_subcommand(
        "import", "Import a disk image (file, block device or - for stdin) without mounting it");
    imp->add_option("file", opts->file,
                    "Image: .img, .img.xz, .img.gz or .zip (told apart by content), a block "
                    "device such as /dev/sdb, or - to read standard input")
        ->required();
    imp->add_option("--name", opts->name, "Name of the imported image")->required();
    imp->add_option("--state-dir", opts->stateDir, "State directory");
    imp->add_option("--timeout", opts->timeout,
                    "Seconds the confined image reader may take before it is killed (default: "
                    "120 + 1 per 20 MiB of the partitions)")
        ->check(CLI::Range(1.0, 1e6));
    imp->add_option("--max-size", opts->maxSize,
                    "Most bytes read from stdin or decompressed from a compressed image "
                    "(suffixes K, M, G, T: 1024-based; default 64G)")
        ->transform(CLI::AsSizeValue(false));
    imp->callback([opts] { doImport(*opts); });
    auto* add = cmd->add_subcommand(
        "add",
        "Register a raw image file served in place (--in-place): not extracted, never "
        "written");
    add->add_option("file", opts->file, "Raw image file (.img)")->required();
    add->add_option("--name", opts->name, "Name of the image")->required();
    add->add_flag("--in-place", opts->inPlace,
                  "Serve the boot files out of the image file (its FAT partition) instead of "
                  "extracting them");
    add->add_option("--state-dir", opts->stateDir, "State directory");
    add->add_option("--timeout", opts->timeout,
                    "Seconds the confined image reader may take before it is killed")
        ->check(CLI::Range(1.0, 1e6));
    add->callback([opts] { doAdd(*opts); });
    auto* cat = cmd->add_subcommand(
        "cat", "Write one boot file of an image to standard output, as a board would get it");
    cat->add_option("name", opts->name, "Image name")->required();
    cat->add_option("path", opts->path, "Path in the boot partition, e.g. overlays/foo.dtbo")
        ->required();
    cat->add_option("--state-dir", opts->stateDir, "State directory");
    cat->callback([opts] { doCat(*opts); });
    auto* ls = cmd->add_subcommand("list", "List imported images");
    ls->add_option("--state-dir", opts->stateDir, "State directory");
    ls->add_flag("--json", opts->json, "JSON output");
    ls->callback([opts] { doList(*opts); });
    auto* rm = cmd->add_subcommand("remove", "Remove an imported image");
    rm->add_option("name", opts->name, "Image name")->required();
    rm->add_option("--state-dir", opts->stateDir, "State directory");
    rm->callback([opts] { doRemove(*opts); });
}

}  // namespace

PINET_COMMAND(60, "image", "Import OS images (.img, .xz, .gz, .zip, SD cards) and manage them",
              setup);

}  // namespace pinet::cli
