#include "proto/netboot/initramfs.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

namespace pinet::proto::netboot {
namespace {

// One newc entry as cpio -H newc writes it.
std::string entry(const std::string& name, const std::string& body) {
    std::string h = fmt::format(
        "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}"
        "{:08x}{:08x}{:08x}",
        1, 0100644, 0, 0, 1, 0, body.size(), 0, 0, 0, 0, name.size() + 1, 0);
    std::string out = h + name + '\0';
    out.resize((out.size() + 3) & ~std::size_t{3}, '\0');
    out += body;
    out.resize((out.size() + 3) & ~std::size_t{3}, '\0');
    return out;
}

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(Initramfs, NamesOfConcatenatedArchives) {
    std::string a =
        entry("kernel/x86/microcode/GenuineIntel.bin", "ucode") + entry("TRAILER!!!", "");
    a.append(512 - a.size() % 512, '\0');  // block padding between archives
    a += entry("scripts/local-top/nbd", "#!/bin/sh\n") + entry("usr/sbin/nbd-client", "ELF") +
         entry("TRAILER!!!", "");
    auto names = cpioNames(bytes(a));
    ASSERT_TRUE(names) << names.error().message;
    ASSERT_EQ(names->size(), 3U);
    EXPECT_EQ((*names)[1], "scripts/local-top/nbd");
    auto nbd = nbdSupport(*names);
    EXPECT_TRUE(nbd.client);
    EXPECT_TRUE(nbd.script);
}

TEST(Initramfs, WithoutNbdClient) {
    std::string a = entry("init", "#!/bin/sh") + entry("scripts/local-top/nbdx", "") +
                    entry("usr/sbin/nbd-client-helper", "") + entry("TRAILER!!!", "");
    auto names = cpioNames(bytes(a));
    ASSERT_TRUE(names);
    auto nbd = nbdSupport(*names);
    EXPECT_FALSE(nbd.client);
    EXPECT_FALSE(nbd.script);
}

TEST(Initramfs, StopsAtCompressedDataAndRefusesTruncation) {
    std::string a = entry("init", "x") + entry("TRAILER!!!", "") + "\x28\xb5\x2f\xfd zstd...";
    auto names = cpioNames(bytes(a));
    ASSERT_TRUE(names);
    EXPECT_EQ(names->size(), 1U);
    std::string whole = entry("scripts/local-top/nbd", std::string(100, 'x'));
    EXPECT_FALSE(cpioNames(bytes(whole.substr(0, 130))));  // name cut
    EXPECT_FALSE(cpioNames(bytes(whole.substr(0, 150))));  // data cut
    std::string badSize = whole;
    badSize.replace(6 + 11 * 8, 8, "0000zzzz");
    EXPECT_FALSE(cpioNames(bytes(badSize)));
}

}  // namespace
}  // namespace pinet::proto::netboot
