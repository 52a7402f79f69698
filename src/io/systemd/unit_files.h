#pragma once
// systemd unit files that pinetboot owns in a unit directory (by default
// /etc/systemd/system): written, linked into a target's .wants/ (what
// `systemctl enable` does for [Install] WantedBy=) and removed again.
// Only files whose first line is the caller's marker are ever replaced or
// removed, so an administrator's own units are never touched.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::io {

/// sd_booted(3): true if systemd is the running init (/run/systemd/system is a directory).
bool systemdRunning();

struct UnitFile {
    std::string name;  ///< "var-lib-pinetboot-roots-1234abcd-merged.mount"
    std::string text;  ///< starts with the marker
};

struct UnitSync {
    std::vector<std::string> written;  ///< new or changed
    std::vector<std::string> removed;  ///< marked files no longer wanted
};

/// Makes the marked files in @p dir exactly @p units: each is written (when
/// new or changed, atomically) and linked from @p dir/@p wantedBy.wants/;
/// a marked file not in @p units is removed with its link. A unit name
/// with '/' or one taken by a file without the marker fails.
Result<UnitSync> syncUnitFiles(const std::filesystem::path& dir, const std::vector<UnitFile>& units,
                               std::string_view marker, const std::string& wantedBy);

/// Removes @p file and its link in its directory's @p wantedBy.wants/ if
/// the file starts with @p marker; false if there was nothing to remove.
Result<bool> removeUnitFile(const std::filesystem::path& file, std::string_view marker,
                            const std::string& wantedBy);

/// `systemctl daemon-reload`, so systemd sees new and removed units.
Result<void> systemdDaemonReload();

}  // namespace pinet::io
