#pragma once
// Extended attributes the confined import child cannot set (issue #13 items
// 2 and 5): the kernel wants CAP_SYS_ADMIN for `trusted.*` and for every
// `security.*` name but `security.capability` (fs/xattr.c xattr_permission,
// security/commoncap.c cap_inode_setxattr), and the child keeps only six
// capabilities. It writes them to a manifest instead, and the parent, after
// the child is gone, checks every record and applies the allowed ones
// (app/image/image_store). This is the record format and the routing rule,
// pure so that both sides and the fuzzer share one bounds-checked parser.
//
// A manifest is the magic "pinetxa1" followed by records, all little-endian:
//   u16 path length, u8 name length, u32 value length, path, name, value
// The path is relative to the extracted tree ("" is its top), the name a
// full attribute name ("security.selinux").

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "proto/disk/read_at.h"
#include "proto/error.h"

namespace pinet::proto::disk {

/// Who sets an attribute found in an image.
enum class XattrRoute {
    Child,   ///< user.*, system.* (ACLs), security.capability: the confined child
    Parent,  ///< other security.* (security.selinux, security.ima, SMACK64...):
             ///< recorded, applied by the parent
    Drop,    ///< trusted.*: recorded, reported, never applied. Privileged
             ///< metadata of the server's own file system: trusted.overlay.*
             ///< would steer the overlayfs that copy-mode roots sit on.
};

XattrRoute routeXattr(std::string_view name);

inline constexpr std::string_view kXattrManifestMagic = "pinetxa1";
/// The kernel's XATTR_SIZE_MAX (include/uapi/linux/limits.h): setxattr()
/// refuses a longer value, and libext2fs reads none longer.
inline constexpr std::size_t kMaxXattrValue = 65536;
/// XATTR_NAME_MAX, prefix included.
inline constexpr std::size_t kMaxXattrName = 255;
/// PATH_MAX: a longer path cannot be opened in one call anyway.
inline constexpr std::size_t kMaxXattrPath = 4096;
inline constexpr std::size_t kXattrRecordHeader = 7;

struct XattrRecord {
    std::string path;  ///< relative to the tree, no "..", "." or empty component
    std::string name;
    std::string value;
};

/// Whether @p path is one a record may name: "" (the tree's top) or
/// components joined by '/', none empty, "." or "..", no NUL, not too long.
bool isValidRecordPath(std::string_view path);

/// Appends one record to @p out (the writer starts the manifest with
/// kXattrManifestMagic). Fails if a field is over its limit.
Result<void> appendXattrRecord(std::string& out, std::string_view path, std::string_view name,
                               std::span<const std::uint8_t> value);

/// Reads a manifest of @p size bytes through @p read, one record at a time.
class XattrManifestReader {
public:
    XattrManifestReader(ReadAt read, std::uint64_t size) : read_(std::move(read)), size_(size) {}
    /// The next record, nullopt at the end, or an error for a manifest that
    /// is cut short or breaks a limit above (a child that misbehaved). An
    /// empty manifest (0 bytes) has no records.
    Result<std::optional<XattrRecord>> next();

private:
    ReadAt read_;
    std::uint64_t size_;
    std::uint64_t pos_ = 0;
};

}  // namespace pinet::proto::disk
