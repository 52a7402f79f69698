// pinetboot image bootimg DIR -o boot.img [--key PEM]: a FAT boot.img from a
// boot folder plus its boot.sig (sha256, ts, optional rsa2048), for HTTP boot
// (BOOT_ORDER mode 7). Attaches to the `image` command when it exists.

#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "app/bootimg/boot_image.h"
#include "app/image/image_store.h"
#include "app/nbd/boot_view.h"
#include "cli/command.h"
#include "io/file.h"
#include "proto/netboot/ids.h"

namespace pinet::cli {
namespace {

struct BootImgOptions {
    std::string dir;
    std::string output = "boot.img";
    std::string key;
    std::string inPlace;  ///< in-place image whose boot files go under DIR's
    std::string board;    ///< its boot view, when the board has one
    std::string stateDir;
};

// `image` is shared with cmd_image.cc: main sets up both on the same
// subcommand when `image` is invoked.
void setup(CLI::App* image) {
    auto o = std::make_shared<BootImgOptions>();
    auto* cmd = image->add_subcommand(
        "bootimg", "Build boot.img (FAT) and boot.sig from a boot folder, for HTTP boot");
    cmd->add_option("DIR", o->dir, "Boot folder (config.txt, kernel, dtbs, ...)")->required();
    cmd->add_option("-o,--output", o->output, "Image to write; boot.sig goes next to it")
        ->capture_default_str();
    cmd->add_option("--key,-k", o->key, "RSA-2048 private key (PEM) to sign boot.sig");
    cmd->add_option("--in-place", o->inPlace,
                    "In-place image whose boot files go under DIR's (DIR's own files win): "
                    "boot.img for a board of an image served in place");
    cmd->add_option("--board", o->board,
                    "With --in-place: the board's own boot view, if it wrote its boot "
                    "partition (a kernel upgrade), instead of the image's files");
    cmd->add_option("--state-dir", o->stateDir, "State directory (for --in-place)");
    cmd->callback([o] {
        app::bootimg::BootImageOptions opt;
        opt.sourceDir = o->dir;
        std::optional<io::TempDir> stage;
        if (!o->board.empty() && o->inPlace.empty()) {
            printError("--board needs --in-place IMAGE (the image the board boots)");
            setExitCode(kExitUsage);
            return;
        }
        if (!o->inPlace.empty()) {
            const std::string state = stateDir(o->stateDir);
            auto img = app::findImage(state, o->inPlace);
            if (img && !img->inPlace) {
                printError(
                    fmt::format("image {} was imported, not added in place: give its "
                                "boot folder as DIR without --in-place",
                                o->inPlace));
                setExitCode(kExitFailure);
                return;
            }
            if (img && !o->board.empty()) {
                const auto serial = proto::netboot::normalizeSerial(o->board);
                if (!serial) {
                    printError(fmt::format("--board {}: not a serial number", o->board));
                    setExitCode(kExitUsage);
                    return;
                }
                if (auto view = app::bootViewInfo(state, *serial)) {
                    img = std::move(*view);
                    std::cout << fmt::format("board {}: its own boot files (boot view)\n", *serial);
                }
            }
            if (!img) {
                printError(img.error().message);
                setExitCode(kExitFailure);
                return;
            }
            // In the temp dir, not beside the output: that is often DIR itself (the
            // board's folder), which is copied into the stage.
            stage.emplace("pinetboot-bootimg");
            auto staged = app::bootimg::stageInPlaceBoot(*img, o->dir, stage->path());
            if (!staged) {
                printError(staged.error().message);
                setExitCode(kExitFailure);
                return;
            }
            opt.sourceDir = stage->path();
        }
        opt.output = o->output;
        if (!o->key.empty()) {
            opt.keyPem = o->key;
        }
        auto r = app::bootimg::buildBootImage(opt);
        if (!r) {
            printError(r.error().message);
            setExitCode(kExitFailure);
            return;
        }
        std::cout << fmt::format("{}: {} bytes ({} bytes of files)\n{}: sha256{}\n",
                                 r->image.string(), r->imageBytes, r->contentBytes, r->sig.string(),
                                 r->signedWithKey ? " + rsa2048 signature" : "");
        setExitCode(kExitOk);
    });
}

}  // namespace
PINET_COMMAND(96, "image", "", setup);
}  // namespace pinet::cli
