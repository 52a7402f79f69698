#include "app/image/boot_layout.h"

#include <algorithm>

#include <fmt/format.h>

#include "io/file.h"
#include "io/fs/file_ops.h"

namespace pinet::app {

namespace fs = std::filesystem;
using proto::netboot::PiBoard;

namespace {

bool isRegular(const fs::path& p, std::uint64_t* size = nullptr) {
    auto st = io::statNoFollow(p);
    if (!st || !*st || (*st)->kind != io::EntryKind::Regular) {
        return false;
    }
    if (size != nullptr) {
        *size = (*st)->size;
    }
    return true;
}

}  // namespace

std::optional<std::string> DirBootFiles::read(std::string_view path) const {
    if (!proto::netboot::isSafeBootPath(path)) {
        return std::nullopt;
    }
    const fs::path p = dir_ / std::string(path);
    std::uint64_t size = 0;
    if (!isRegular(p, &size)) {
        return std::nullopt;
    }
    if (size > proto::netboot::kMaxBootConfigBytes) {
        // Not read: the evaluator refuses anything this large anyway.
        return std::string(proto::netboot::kMaxBootConfigBytes + 1, '\n');
    }
    auto bytes = io::readFile(p);
    if (!bytes) {
        return std::nullopt;
    }
    return std::string(bytes->begin(), bytes->end());
}

bool DirBootFiles::exists(std::string_view path) const {
    return proto::netboot::isSafeBootPath(path) && isRegular(dir_ / std::string(path));
}

std::vector<PiBoard> boardsOfModel(const std::string& model) {
    if (auto b = proto::netboot::parsePiBoard(model)) {
        return {*b};
    }
    auto all = proto::netboot::allPiBoards();
    std::vector<PiBoard> out;
    const bool pi4 = model == "pi4-family" || model == "RPi4";
    const bool pi5 = model == "pi5-family" || model == "RPi5";
    for (auto b : all) {
        if ((!pi4 && !pi5) || (pi5 == proto::netboot::isPi5Family(b))) {
            out.push_back(b);
        }
    }
    return out;
}

Result<BootLayout> detectBootLayout(const fs::path& boot) {
    return detectBootLayout(DirBootFiles(boot));
}

Result<BootLayout> detectBootLayout(const proto::netboot::BootFiles& files) {
    BootLayout layout;
    for (bool tryboot : {false, true}) {
        for (auto b : proto::netboot::allPiBoards()) {
            auto chain = proto::netboot::resolveBootChain(files, {b, tryboot, ""});
            if (!chain) {
                return tl::unexpected(chain.error());
            }
            layout.chains.push_back(BoardChain{b, tryboot, std::move(*chain)});
        }
    }
    bool prefixed = false;
    bool ubuntu = false;
    const std::size_t n = proto::netboot::allPiBoards().size();
    for (std::size_t i = 0; i < n; ++i) {
        const auto& normal = layout.chains[i].chain;
        const auto& tried = layout.chains[i + n].chain;
        prefixed = prefixed || !normal.requestedPrefix.empty();
        // Ubuntu's piboot-try: "current/ folder ... always holds the currently booted
        // assets" (A/B boot on Ubuntu for Raspberry Pi).
        ubuntu = ubuntu || normal.requestedPrefix == "current/";
        layout.tryboot = layout.tryboot || tried.settings.configFile != "config.txt" ||
                         tried.requestedPrefix != normal.requestedPrefix ||
                         tried.cmdline != normal.cmdline || tried.kernel != normal.kernel;
    }
    layout.kind = ubuntu ? "current-new-old" : prefixed ? "os_prefix" : "flat";
    return layout;
}

Result<std::vector<std::string>> cmdlineTargets(const fs::path& boot, const std::string& model,
                                                const std::string& serial) {
    return cmdlineTargets(DirBootFiles(boot), model, serial);
}

Result<std::vector<std::string>> cmdlineTargets(const proto::netboot::BootFiles& files,
                                                const std::string& model,
                                                const std::string& serial) {
    std::vector<std::string> complete;
    std::vector<std::string> named;
    std::string firstNamed;
    auto add = [](std::vector<std::string>& v, const std::string& p) {
        if (std::find(v.begin(), v.end(), p) == v.end()) {
            v.push_back(p);
        }
    };
    for (bool tryboot : {false, true}) {
        for (auto b : boardsOfModel(model)) {
            auto chain = proto::netboot::resolveBootChain(files, {b, tryboot, serial});
            if (!chain) {
                return tl::unexpected(chain.error());
            }
            if (chain->complete()) {
                add(complete, chain->cmdline);
            } else if (!tryboot && chain->cmdlineFound) {
                add(named, chain->cmdline);
            }
            if (!tryboot && firstNamed.empty()) {
                firstNamed = chain->cmdline;
            }
        }
    }
    if (!complete.empty()) {
        return complete;
    }
    if (!named.empty()) {
        return named;
    }
    return fail(fmt::format("no {} in its boot partition{}", firstNamed,
                            firstNamed == "cmdline.txt"
                                ? std::string()
                                : " (the file its config.txt makes the board read)"));
}

}  // namespace pinet::app
