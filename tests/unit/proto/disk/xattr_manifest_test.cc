#include "proto/disk/xattr_manifest.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

// The manifest of attributes the confined import child may not set (issue
// #13 items 2 and 5): its writer and the parent's reader, which must hold
// against a child that writes anything at all.

namespace pinet::proto::disk {
namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// All records of @p manifest, or the reader's error.
Result<std::vector<XattrRecord>> readAll(const std::string& manifest) {
    XattrManifestReader r(spanReader(bytes(manifest)), manifest.size());
    std::vector<XattrRecord> out;
    while (true) {
        auto rec = r.next();
        if (!rec) {
            return tl::unexpected(rec.error());
        }
        if (!*rec) {
            return out;
        }
        out.push_back(std::move(**rec));
    }
}

std::string manifestOf(const std::vector<XattrRecord>& recs) {
    std::string m(kXattrManifestMagic);
    for (const auto& r : recs) {
        EXPECT_TRUE(appendXattrRecord(m, r.path, r.name, bytes(r.value)));
    }
    return m;
}

TEST(XattrRoute, ChildSetsWhatItsCapabilitiesAllowTheParentTheRestTrustedIsDropped) {
    EXPECT_EQ(routeXattr("user.x"), XattrRoute::Child);
    EXPECT_EQ(routeXattr("system.posix_acl_access"), XattrRoute::Child);
    EXPECT_EQ(routeXattr("security.capability"), XattrRoute::Child);  // CAP_SETFCAP
    EXPECT_EQ(routeXattr("security.selinux"), XattrRoute::Parent);
    EXPECT_EQ(routeXattr("security.ima"), XattrRoute::Parent);
    EXPECT_EQ(routeXattr("security.capability2"), XattrRoute::Parent);
    EXPECT_EQ(routeXattr("trusted.overlay.opaque"), XattrRoute::Drop);
    EXPECT_EQ(routeXattr("trusted."), XattrRoute::Drop);
    EXPECT_EQ(routeXattr("trustedx"), XattrRoute::Child);  // no such namespace: the kernel says no
}

TEST(XattrManifest, RecordsRoundTrip) {
    std::vector<XattrRecord> in = {{"", "security.selinux", "system_u:object_r:root_t:s0"},
                                   {"usr/bin/ping", "trusted.overlay.opaque", "y"},
                                   {"a b/\xff\n", "security.x", std::string("\0\1\2", 3)},
                                   {"big", "security.big", std::string(kMaxXattrValue, 'v')}};
    auto out = readAll(manifestOf(in));
    ASSERT_TRUE(out) << out.error().message;
    ASSERT_EQ(out->size(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ((*out)[i].path, in[i].path);
        EXPECT_EQ((*out)[i].name, in[i].name);
        EXPECT_EQ((*out)[i].value, in[i].value);
    }
    auto empty = readAll("");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
    auto magicOnly = readAll(std::string(kXattrManifestMagic));
    ASSERT_TRUE(magicOnly);
    EXPECT_TRUE(magicOnly->empty());
}

TEST(XattrManifest, WriterRefusesWhatTheKernelWouldRefuse) {
    std::string m;
    EXPECT_FALSE(
        appendXattrRecord(m, "f", "security.x", bytes(std::string(kMaxXattrValue + 1, 'v'))));
    EXPECT_FALSE(appendXattrRecord(m, "f", std::string(kMaxXattrName + 1, 's'), {}));
    EXPECT_FALSE(appendXattrRecord(m, "f", "", {}));
    EXPECT_FALSE(appendXattrRecord(m, "../etc/passwd", "security.x", {}));
    EXPECT_FALSE(appendXattrRecord(m, "/etc/passwd", "security.x", {}));
    EXPECT_FALSE(appendXattrRecord(m, "a//b", "security.x", {}));
    EXPECT_FALSE(appendXattrRecord(m, "a/./b", "security.x", {}));
    EXPECT_FALSE(appendXattrRecord(m, std::string(kMaxXattrPath + 1, 'p'), "security.x", {}));
    EXPECT_TRUE(m.empty());
}

/// A record written by hand: what a misbehaving child can put in the file.
std::string rawRecord(std::uint32_t pathLen, std::uint32_t nameLen, std::uint32_t valueLen,
                      const std::string& body) {
    std::string r;
    r.push_back(static_cast<char>(pathLen & 0xFF));
    r.push_back(static_cast<char>(pathLen >> 8));
    r.push_back(static_cast<char>(nameLen));
    for (int i = 0; i < 4; ++i) {
        r.push_back(static_cast<char>((valueLen >> (8 * i)) & 0xFF));
    }
    return r + body;
}

TEST(XattrManifest, ReaderRefusesAHostileManifest) {
    const std::string magic(kXattrManifestMagic);
    auto refused = [](const std::string& m) {
        auto r = readAll(m);
        return r ? std::string("accepted") : r.error().message;
    };
    EXPECT_NE(refused("notmagic"), "accepted");
    EXPECT_NE(refused("pin"), "accepted");
    // A header cut short, a body cut short, a length that points past the end.
    EXPECT_NE(refused(magic + "\x01\x00"), "accepted");
    EXPECT_NE(refused(magic + rawRecord(1, 10, 5, "fsecurity.xab")), "accepted");
    EXPECT_NE(refused(magic + rawRecord(1, 10, 0xFFFFFFFF, "fsecurity.x")), "accepted");
    // Over the limits, even with the bytes there.
    auto over = refused(magic + rawRecord(1, 10, kMaxXattrValue + 1,
                                          "fsecurity.x" + std::string(kMaxXattrValue + 1, 'v')));
    EXPECT_NE(over.find("breaks a limit"), std::string::npos) << over;
    EXPECT_NE(refused(magic + rawRecord(5000, 10, 0, std::string(5000, 'p') + "security.x")),
              "accepted");
    EXPECT_NE(refused(magic + rawRecord(1, 0, 0, "f")), "accepted");
    // Paths out of the tree, and a NUL that would cut a name short.
    EXPECT_NE(refused(magic + rawRecord(2, 10, 0, "..security.x")), "accepted");
    EXPECT_NE(refused(magic + rawRecord(4, 10, 0, "/etcsecurity.x")), "accepted");
    EXPECT_NE(refused(magic + rawRecord(4, 10, 0, "a/..security.x")), "accepted");
    EXPECT_NE(refused(magic + rawRecord(1, 10, 0, std::string("fsecu\0ity.x", 11))), "accepted");
    // A good record after which the hostile one still fails the whole manifest.
    std::string good = manifestOf({{"f", "security.x", "1"}});
    EXPECT_NE(refused(good + rawRecord(2, 10, 0, "..security.x")), "accepted");
}

}  // namespace
}  // namespace pinet::proto::disk
