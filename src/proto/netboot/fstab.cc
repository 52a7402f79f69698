#include "proto/netboot/fstab.h"

#include <vector>

#include <fmt/format.h>

#include "proto/netboot/cmdline.h"

namespace pinet::proto::netboot {

namespace {

constexpr std::string_view kDisabled = "#pinetboot-sd# ";
constexpr std::string_view kAddedTag = "# pinetboot: boot files from the server";

bool startsWith(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

bool isSdLine(std::string_view line) {
    auto f = splitCmdline(line);  // whitespace split is all fstab needs
    if (f.size() < 2 || f[0].front() == '#') {
        return false;
    }
    const std::string& dev = f[0];
    const std::string& mnt = f[1];
    if (startsWith(dev, "PARTUUID=") || startsWith(dev, "/dev/mmcblk")) {
        return true;
    }
    // UUID=/LABEL= lines for the root or boot mount also name SD partitions
    // (Raspberry Pi OS labels them rootfs and bootfs).
    bool rootOrBoot = mnt == "/" || mnt == "/boot" || mnt == "/boot/firmware";
    return rootOrBoot && (startsWith(dev, "UUID=") || startsWith(dev, "LABEL="));
}

}  // namespace

FstabResult rewriteFstab(std::string_view original, const FstabOptions& opts) {
    FstabResult res;
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    while (pos < original.size()) {
        auto nl = original.find('\n', pos);
        if (nl == std::string_view::npos) {
            lines.push_back(original.substr(pos));
            break;
        }
        lines.push_back(original.substr(pos, nl - pos));
        pos = nl + 1;
    }
    bool skipNext = false;
    for (auto line : lines) {
        if (skipNext) {  // the line after our tag is the boot mount we added
            skipNext = false;
            continue;
        }
        if (line == kAddedTag) {
            skipNext = true;
            continue;
        }
        if (startsWith(line, kDisabled)) {
            res.commented++;
            res.text += line;
        } else if (isSdLine(line)) {
            res.commented++;
            res.text += kDisabled;
            res.text += line;
        } else {
            res.text += line;
        }
        res.text.push_back('\n');
    }
    if (opts.bootSource) {
        res.text += kAddedTag;
        res.text.push_back('\n');
        res.text += fmt::format("{} /boot/firmware nfs defaults,vers={},proto=tcp,nolock 0 0\n",
                                *opts.bootSource, opts.nfsVersion);
    }
    return res;
}

}  // namespace pinet::proto::netboot
