#pragma once
// The boot layout of an image's boot partition, read the way the firmware reads
// it (proto/netboot/boot_config): flat (Raspberry Pi OS: everything at the top),
// os_prefix (config.txt moves the OS files under a prefix, maybe per model), or
// Ubuntu 25.10's current/ new/ old/ with tryboot (piboot-try: config.txt points
// at current/, a tryboot boot at new/). Used by `image import` (image.json),
// `client add/set` (which cmdline files to rewrite) and `doctor` (the chain per
// client model).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "proto/error.h"
#include "proto/netboot/boot_config.h"

namespace pinet::app {

/// A directory seen as a boot partition: files are regular files (no symlinks
/// followed at the last part), reads bounded by kMaxBootConfigBytes.
class DirBootFiles final : public proto::netboot::BootFiles {
public:
    explicit DirBootFiles(std::filesystem::path dir) : dir_(std::move(dir)) {}
    [[nodiscard]] std::optional<std::string> read(std::string_view path) const override;
    [[nodiscard]] bool exists(std::string_view path) const override;

private:
    std::filesystem::path dir_;
};

/// The boards a registry model code stands for: one board ("cm4"), a family
/// ("pi4-family", "RPi5"), or every board ("" or unknown).
std::vector<proto::netboot::PiBoard> boardsOfModel(const std::string& model);

/// One chain per board and tryboot flag.
struct BoardChain {
    proto::netboot::PiBoard board = proto::netboot::PiBoard::Pi4;
    bool tryboot = false;
    proto::netboot::BootChain chain;
};

struct BootLayout {
    /// "flat", "os_prefix" or "current-new-old" (Ubuntu's piboot-try).
    std::string kind = "flat";
    /// A tryboot boot follows another chain (tryboot.txt, or [tryboot] in config.txt).
    bool tryboot = false;
    std::vector<BoardChain> chains;  ///< every board, normal then tryboot
};

/// Every board's chains in @p boot, and what kind of layout they make.
Result<BootLayout> detectBootLayout(const std::filesystem::path& boot);
/// The same over any boot partition (an image served in place: app/image/in_place.h).
Result<BootLayout> detectBootLayout(const proto::netboot::BootFiles& files);

/// The cmdline files that boards of @p model (boardsOfModel) read from @p boot,
/// normal and tryboot boots alike, each once, in a stable order: those of chains the
/// firmware can load (kernel, device tree and cmdline present). When no chain is
/// complete (a boot tree without kernels), the cmdline files the normal boots name
/// that exist, so a flat image rewrites cmdline.txt as before. Fails when none
/// exists, naming the one the board would read.
Result<std::vector<std::string>> cmdlineTargets(const std::filesystem::path& boot,
                                                const std::string& model,
                                                const std::string& serial = "");
/// The same over any boot partition (an image served in place).
Result<std::vector<std::string>> cmdlineTargets(const proto::netboot::BootFiles& files,
                                                const std::string& model,
                                                const std::string& serial = "");

}  // namespace pinet::app
