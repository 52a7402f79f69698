#pragma once
// ONC RPC NULL call ("ping") over TCP, to check that an NFS server answers:
// RFC 5531 section 9 (call/reply bodies), section 11 (record marking),
// NFS program 100003 (RFC 1813 / RFC 7530). Procedure 0 takes no arguments.

#include <cstdint>
#include <span>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::nfs {

inline constexpr std::uint32_t kNfsProgram = 100003;    // RFC 1813 section 1.1
inline constexpr std::uint32_t kMountProgram = 100005;  // RFC 1813 appendix I

/// A record-marked NULL call for @p program version @p version with AUTH_NONE.
std::vector<std::uint8_t> encodeNullCall(std::uint32_t xid, std::uint32_t program,
                                         std::uint32_t version);

enum class RpcReplyStatus { Success, ProgramUnavailable, VersionMismatch, Denied, Other };

/// Parses a record-marked reply to @p xid.
Result<RpcReplyStatus> parseNullReply(std::span<const std::uint8_t> data, std::uint32_t xid);

}  // namespace pinet::proto::nfs
