#include "io/fs/mount.h"

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace pinet::io {

namespace fs = std::filesystem;

bool isMountPoint(const fs::path& p) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    const std::string want = fs::weakly_canonical(p).string();
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string id, parent, devno, root, mnt;
        ls >> id >> parent >> devno >> root >> mnt;
        if (mnt == want) {
            return true;
        }
    }
    return false;
}

Result<void> mountOverlay(const fs::path& target, const std::string& options) {
    if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0) {
        return fail(fmt::format("{}: cannot mount the overlay ({}): {}", target.string(), options,
                                std::strerror(errno)));
    }
    return {};
}

Result<void> unmountDetach(const fs::path& target) {
    if (::umount2(target.c_str(), MNT_DETACH) != 0) {
        return fail(fmt::format("{}: umount: {}", target.string(), std::strerror(errno)));
    }
    return {};
}

}  // namespace pinet::io
