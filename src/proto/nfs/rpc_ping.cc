#include "proto/nfs/rpc_ping.h"

#include <optional>
#include <string>

#include <fmt/format.h>

#include "proto/byte_reader.h"
#include "proto/text/safe_text.h"

namespace pinet::proto::nfs {

namespace {
constexpr std::uint32_t kCall = 0;   // msg_type CALL
constexpr std::uint32_t kReply = 1;  // msg_type REPLY
constexpr std::uint32_t kRpcVersion = 2;
constexpr std::uint32_t kLastFragment = 0x80000000U;  // record marking, RFC 5531 section 11
}  // namespace

std::vector<std::uint8_t> encodeNullCall(std::uint32_t xid, std::uint32_t program,
                                         std::uint32_t version) {
    // xid, CALL, rpcvers, prog, vers, proc 0, cred AUTH_NONE (0, len 0), verf AUTH_NONE.
    const std::uint32_t words[] = {xid, kCall, kRpcVersion, program, version, 0, 0, 0, 0, 0};
    std::vector<std::uint8_t> out(4 + sizeof(words));
    putU32be(out.data(), kLastFragment | static_cast<std::uint32_t>(sizeof(words)));
    for (std::size_t i = 0; i < std::size(words); ++i) {
        putU32be(out.data() + 4 + 4 * i, words[i]);
    }
    return out;
}

namespace {

/// What answered, when it was not ONC RPC: a text protocol starts with a readable line
/// ("HTTP/1.1 400 Bad Request", "SSH-2.0-...", "220 smtp ready"); an RPC reply starts with a
/// record mark whose top bit is set (RFC 5531 section 11), never with a printable byte.
std::optional<std::string> textProtocol(std::span<const std::uint8_t> data) {
    if (data.empty() || (data[0] & 0x80) != 0) {
        return std::nullopt;
    }
    std::string line;
    for (auto b : data) {
        if (b == '\r' || b == '\n' || line.size() >= 60) {  // enough to recognise it by
            break;
        }
        if (b < 0x20 || b >= 0x7f) {
            return std::nullopt;
        }
        line += static_cast<char>(b);
    }
    if (line.size() < 3) {
        return std::nullopt;
    }
    const auto kind = line.rfind("HTTP/", 0) == 0  ? "HTTP"
                      : line.rfind("SSH-", 0) == 0 ? "SSH"
                                                   : "a text protocol";
    return fmt::format("it looks like {}: \"{}\"", kind, text::safeText(line, 60));
}

}  // namespace

Result<RpcReplyStatus> parseNullReply(std::span<const std::uint8_t> data, std::uint32_t xid) {
    if (auto what = textProtocol(data)) {
        return fail(fmt::format("something that is not an NFS/RPC server answered ({})", *what));
    }
    ByteReader r(data);
    auto mark = r.u32be();
    auto rxid = r.u32be();
    auto type = r.u32be();
    auto replyStat = r.u32be();
    if (!mark || !rxid || !type || !replyStat) {
        return fail("short RPC reply");
    }
    if (*rxid != xid || *type != kReply) {
        return fail(fmt::format(
            "something that is not an NFS/RPC server answered (its reply is not an ONC RPC reply "
            "to our call: xid {:08x}, type {})",
            *rxid, *type));
    }
    if (*replyStat != 0) {  // MSG_DENIED
        return RpcReplyStatus::Denied;
    }
    auto verfFlavor = r.u32be();
    auto verfLen = r.u32be();
    if (!verfFlavor || !verfLen || *verfLen > 400 || !r.skip((*verfLen + 3) & ~3U)) {
        return fail("bad verifier in RPC reply");
    }
    auto accept = r.u32be();
    if (!accept) {
        return fail("short RPC reply");
    }
    switch (*accept) {
        case 0: return RpcReplyStatus::Success;
        case 1:  // PROG_UNAVAIL
            return RpcReplyStatus::ProgramUnavailable;
        case 2:  // PROG_MISMATCH
            return RpcReplyStatus::VersionMismatch;
        default: return RpcReplyStatus::Other;
    }
}

}  // namespace pinet::proto::nfs
