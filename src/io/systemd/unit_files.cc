#include "io/systemd/unit_files.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "io/file.h"
#include "io/fs/file_ops.h"
#include "io/process/process.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {

/// Whether @p p starts with @p marker (read: the marker's length, no more).
bool hasMarker(const fs::path& p, std::string_view marker) {
    std::ifstream in(p, std::ios::binary);
    std::string head(marker.size(), '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    return in.gcount() == static_cast<std::streamsize>(marker.size()) && head == marker;
}

}  // namespace

bool systemdRunning() {
    std::error_code ec;
    return fs::is_directory("/run/systemd/system", ec);
}

Result<UnitSync> syncUnitFiles(const fs::path& dir, const std::vector<UnitFile>& units,
                               std::string_view marker, const std::string& wantedBy) {
    std::error_code ec;
    const fs::path wants = dir / (wantedBy + ".wants");
    fs::create_directories(wants, ec);
    if (ec) {
        return fail(fmt::format("{}: {}", wants.string(), ec.message()));
    }
    UnitSync out;
    std::set<std::string> wanted;
    for (const auto& u : units) {
        if (u.name.empty() || u.name.find('/') != std::string::npos || u.name[0] == '.') {
            return fail(fmt::format("unit name \"{}\" is not a file name", u.name));
        }
        if (u.text.rfind(marker, 0) != 0) {
            return fail(fmt::format("unit {} does not start with pinetboot's marker", u.name));
        }
        wanted.insert(u.name);
        const fs::path file = dir / u.name;
        auto st = statNoFollow(file);
        if (!st) {
            return tl::unexpected(st.error());
        }
        if (*st && ((*st)->kind != EntryKind::Regular || !hasMarker(file, marker))) {
            return fail(fmt::format(
                "{} exists and was not written by pinetboot: not replaced (move it away, "
                "then run pinetboot nfs apply again)",
                file.string()));
        }
        bool same = false;
        if (*st) {
            auto old = readFile(file);
            same = old && std::string(old->begin(), old->end()) == u.text;
        }
        if (!same) {
            if (auto r = writeFileAtomic(file, u.text, 0644); !r) {
                return tl::unexpected(r.error());
            }
            out.written.push_back(u.name);
        }
        // What `systemctl enable` makes for WantedBy=: a relative link, so the
        // directory can be moved (an image built elsewhere) without breaking it.
        if (auto r = replaceWithSymlink("../" + u.name, wants / u.name); !r) {
            return tl::unexpected(r.error());
        }
    }
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (wanted.count(name) != 0 || !fs::is_regular_file(e.symlink_status(ec)) ||
            !hasMarker(e.path(), marker)) {
            continue;
        }
        if (auto r = removeLink(wants / name).and_then([&] { return removeLink(e.path()); }); !r) {
            return tl::unexpected(r.error());
        }
        out.removed.push_back(name);
    }
    if (ec) {
        return fail(fmt::format("{}: {}", dir.string(), ec.message()));
    }
    std::sort(out.removed.begin(), out.removed.end());
    return out;
}

Result<bool> removeUnitFile(const fs::path& file, std::string_view marker,
                            const std::string& wantedBy) {
    auto st = statNoFollow(file);
    if (!st) {
        return tl::unexpected(st.error());
    }
    if (!*st || (*st)->kind != EntryKind::Regular || !hasMarker(file, marker)) {
        return false;
    }
    const fs::path link = file.parent_path() / (wantedBy + ".wants") / file.filename();
    if (auto r = removeLink(link).and_then([&] { return removeLink(file); }); !r) {
        return tl::unexpected(r.error());
    }
    return true;
}

Result<void> systemdDaemonReload() {
    auto r = runProcess({"systemctl", "daemon-reload"}, std::chrono::seconds(60));
    if (!r) {
        return tl::unexpected(r.error());
    }
    if (r->exitCode != 0) {
        return fail(fmt::format("systemctl daemon-reload failed (exit {}): {}", r->exitCode,
                                r->err.substr(0, 300)));
    }
    return {};
}

}  // namespace pinet::io
