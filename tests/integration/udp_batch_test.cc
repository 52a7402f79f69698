// io::SendQueue on real loopback sockets: what leaves as one UDP GSO message
// arrives as the same separate datagrams, byte for byte and in order; what must
// not be grouped (other addresses, long datagrams, a disabled queue) is not.

#include "io/udp_batch.h"

#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace pinet::io {
namespace {

struct Receiver {
    Fd fd;
    SockAddr addr;
    Receiver() {
        auto loopback = parseEndpoint("127.0.0.1:0");
        EXPECT_TRUE(loopback);
        auto bound = bindUdp(*loopback, 4 << 20);
        EXPECT_TRUE(bound);
        fd = std::move(*bound);
        addr = *localAddress(fd.get());
    }
    /// Every datagram that arrives within 200 ms of the previous one.
    std::vector<std::vector<std::uint8_t>> drain() {
        std::vector<std::vector<std::uint8_t>> out;
        for (;;) {
            pollfd p{fd.get(), POLLIN, 0};
            if (::poll(&p, 1, 200) != 1) {
                return out;
            }
            std::vector<std::uint8_t> buf(70000);
            ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
            if (n < 0) {
                return out;
            }
            buf.resize(static_cast<std::size_t>(n));
            out.push_back(std::move(buf));
        }
    }
};

std::vector<std::uint8_t> pattern(std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = static_cast<std::uint8_t>((i * 131) >> 2);
    }
    return v;
}

std::array<std::uint8_t, 4> header(std::uint16_t block) {
    return {0, 3, static_cast<std::uint8_t>(block >> 8), static_cast<std::uint8_t>(block)};
}

class SendQueueTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto loopback = parseEndpoint("127.0.0.1:0");
        ASSERT_TRUE(loopback);
        auto s = bindUdp(*loopback, 4 << 20);
        ASSERT_TRUE(s);
        sender_ = std::move(*s);
    }
    /// Queues a window: @p blocks blocks of @p blksize bytes (the last @p lastLen) to @p to.
    void queueWindow(SendQueue& q, const SockAddr& to, std::uint16_t firstBlock, int blocks,
                     std::size_t blksize, std::size_t lastLen) {
        for (int i = 0; i < blocks; ++i) {
            const std::size_t offset = static_cast<std::size_t>(i) * blksize;
            const std::size_t len = i + 1 == blocks ? lastLen : blksize;
            auto h = header(static_cast<std::uint16_t>(firstBlock + i));
            q.push(to, h, std::span<const std::uint8_t>(file_).subspan(offset, len));
        }
    }
    /// Checks that @p got is the window queueWindow() made, in order.
    void expectWindow(const std::vector<std::vector<std::uint8_t>>& got, std::uint16_t firstBlock,
                      int blocks, std::size_t blksize, std::size_t lastLen) {
        ASSERT_EQ(got.size(), static_cast<std::size_t>(blocks));
        for (int i = 0; i < blocks; ++i) {
            const std::size_t len = i + 1 == blocks ? lastLen : blksize;
            const auto& d = got[static_cast<std::size_t>(i)];
            ASSERT_EQ(d.size(), 4 + len) << "datagram " << i;
            auto h = header(static_cast<std::uint16_t>(firstBlock + i));
            EXPECT_TRUE(std::equal(h.begin(), h.end(), d.begin())) << "header of " << i;
            const std::size_t offset = static_cast<std::size_t>(i) * blksize;
            EXPECT_TRUE(
                std::equal(d.begin() + 4, d.end(), file_.begin() + static_cast<long>(offset)))
                << "payload of " << i;
        }
    }

    Fd sender_;
    std::vector<std::uint8_t> file_ = pattern(200000);
    std::uint64_t dropCounter_ = 0;
};

TEST_F(SendQueueTest, AWindowLeavesAsOneGroupAndArrivesAsItsDatagrams) {
    Receiver rx;
    SendQueue q;
    queueWindow(q, rx.addr, 7, 16, 1468, 500);  // a short last block may end the group
    auto r = q.flush(sender_.get(), 0, dropCounter_);
    EXPECT_EQ(r.sent, 16u);
    EXPECT_EQ(r.failed, 0u);
    EXPECT_EQ(r.segmented, 16u) << "loopback takes UDP GSO";
    EXPECT_EQ(r.bytes, 15u * 1472 + 504);
    EXPECT_TRUE(q.segmentationEnabled());
    expectWindow(rx.drain(), 7, 16, 1468, 500);
}

TEST_F(SendQueueTest, OnlyEqualDatagramsToOneAddressAreGrouped) {
    Receiver a;
    Receiver b;
    SendQueue q;
    // Interleaved destinations (lockstep clients): nothing to group.
    for (std::uint16_t i = 1; i <= 4; ++i) {
        auto h = header(i);
        q.push(i % 2 != 0 ? a.addr : b.addr, h, std::span<const std::uint8_t>(file_).first(1468));
    }
    auto r = q.flush(sender_.get(), 0, dropCounter_);
    EXPECT_EQ(r.sent, 4u);
    EXPECT_EQ(r.segmented, 0u);
    EXPECT_EQ(a.drain().size(), 2u);
    EXPECT_EQ(b.drain().size(), 2u);
    // Blocks over the Ethernet payload (blksize 8192) go one datagram each: a GSO
    // segment larger than the route's MTU would be refused on a real NIC.
    queueWindow(q, a.addr, 1, 4, 8192, 8192);
    r = q.flush(sender_.get(), 0, dropCounter_);
    EXPECT_EQ(r.sent, 4u);
    EXPECT_EQ(r.segmented, 0u);
    expectWindow(a.drain(), 1, 4, 8192, 8192);
    // A longer datagram after a shorter one starts a new message.
    auto h1 = header(1);
    auto h2 = header(2);
    q.push(a.addr, h1, std::span<const std::uint8_t>(file_).first(100));
    q.push(a.addr, h2, std::span<const std::uint8_t>(file_).first(1468));
    r = q.flush(sender_.get(), 0, dropCounter_);
    EXPECT_EQ(r.sent, 2u);
    EXPECT_EQ(r.segmented, 0u);
    auto got = a.drain();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].size(), 104u);
    EXPECT_EQ(got[1].size(), 1472u);
}

TEST_F(SendQueueTest, AConnectedSocketSendsToItsPeerWithoutAnAddressAndToOthersWithOne) {
    // A TFTP transfer's own socket is connected to its client (connectUdp).
    Receiver peer;
    Receiver other;
    ASSERT_TRUE(connectUdp(sender_.get(), peer.addr));
    SendQueue q;
    q.setConnectedPeer(peer.addr);
    queueWindow(q, peer.addr, 1, 8, 1468, 1468);  // a GSO group to the peer
    auto h = header(9);
    q.push(other.addr, h, std::span<const std::uint8_t>(file_).first(10));
    SendQueue::FlushResult prepared;
    ASSERT_EQ(q.prepare(0, dropCounter_, prepared), 2u);
    EXPECT_EQ(q.message(0)->msg_name, nullptr);  // to the connected peer: no address
    EXPECT_NE(q.message(1)->msg_name, nullptr);
    q.finish();
    queueWindow(q, peer.addr, 1, 8, 1468, 1468);
    q.push(other.addr, h, std::span<const std::uint8_t>(file_).first(10));
    auto r = q.flush(sender_.get(), 0, dropCounter_);
    EXPECT_EQ(r.sent, 9u);
    EXPECT_EQ(r.segmented, 8u);
    expectWindow(peer.drain(), 1, 8, 1468, 1468);
    EXPECT_EQ(other.drain().size(), 1u);
}

TEST_F(SendQueueTest, WithoutSegmentationTheSameBytesArrive) {
    Receiver rx;
    SendQueue q;
    q.disableSegmentation();
    queueWindow(q, rx.addr, 65530, 12, 1024, 1024);  // block numbers wrap past 65535
    auto r = q.flush(sender_.get(), 0, dropCounter_);
    EXPECT_EQ(r.sent, 12u);
    EXPECT_EQ(r.segmented, 0u);
    expectWindow(rx.drain(), 65530, 12, 1024, 1024);
}

TEST_F(SendQueueTest, TheLossHookDropsSingleDatagramsOfAGroup) {
    Receiver rx;
    SendQueue q;
    queueWindow(q, rx.addr, 1, 10, 1468, 1468);
    auto r = q.flush(sender_.get(), 5, dropCounter_);  // drops the 5th and the 10th
    EXPECT_EQ(r.dropped, 2u);
    EXPECT_EQ(r.sent, 8u);
    auto got = rx.drain();
    ASSERT_EQ(got.size(), 8u);
    std::vector<int> blocks;
    for (const auto& d : got) {
        blocks.push_back(d[2] << 8 | d[3]);
    }
    EXPECT_EQ(blocks, (std::vector<int>{1, 2, 3, 4, 6, 7, 8, 9}));
}

}  // namespace
}  // namespace pinet::io
