#include "proto/nfs/rpc_ping.h"

#include <gtest/gtest.h>

#include <string>

namespace nfs = pinet::proto::nfs;

namespace {
std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
}  // namespace

// Issue #15: an HTTP server on 2049 gave "not a reply to our call (xid 2f312e31, type
// 540291120)"; the reader must learn what answered.
TEST(RpcPing, HttpOnTheNfsPortIsNamed) {
    const std::string http = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    auto r = nfs::parseNullReply(bytes(http), 0x70696e03);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "something that is not an NFS/RPC server answered (it looks like HTTP: "
              "\"HTTP/1.1 400 Bad Request\")");
    r = nfs::parseNullReply(bytes("SSH-2.0-OpenSSH_9.2\r\n"), 1);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("it looks like SSH"), std::string::npos);
}

TEST(RpcPing, RealReplyStillParses) {
    // Record mark (last fragment, 24 bytes), xid, REPLY, MSG_ACCEPTED, verifier AUTH_NONE
    // (flavor 0, length 0), SUCCESS.
    const std::uint8_t reply[] = {0x80, 0, 0, 24, 0x70, 0x69, 0x6e, 0x03, 0, 0, 0, 1, 0, 0,
                                  0,    0, 0, 0,  0,    0,    0,    0,    0, 0, 0, 0, 0, 0};
    auto r = nfs::parseNullReply(reply, 0x70696e03);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, nfs::RpcReplyStatus::Success);
    // Another xid: an RPC reply, but not to us.
    r = nfs::parseNullReply(reply, 0x70696e04);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not an ONC RPC reply to our call"), std::string::npos);
}
