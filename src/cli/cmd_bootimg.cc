// pinetboot image bootimg DIR -o boot.img [--key PEM]: a FAT boot.img from a
// boot folder plus its boot.sig (sha256, ts, optional rsa2048), for HTTP boot
// (BOOT_ORDER mode 7). Attaches to the `image` command when it exists.

#include <iostream>

#include <fmt/format.h>

#include "app/bootimg/boot_image.h"
#include "cli/command.h"

namespace pinet::cli {
namespace {

struct BootImgOptions {
    std::string dir;
    std::string output = "boot.img";
    std::string key;
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
    cmd->callback([o] {
        app::bootimg::BootImageOptions opt;
        opt.sourceDir = o->dir;
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
