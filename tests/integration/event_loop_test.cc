// io::EventLoop on real kernel objects: a UDP socket pair on loopback, the
// wake eventfd from another thread, and deadlines.
#include "io/net/event_loop.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include <gtest/gtest.h>

#include "io/udp_batch.h"

namespace pinet::io {
namespace {

using namespace std::chrono_literals;
using Clock = EventLoop::Clock;

TEST(EventLoop, DeadlineReturnsWithNothingReady) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop) << loop.error().message;
    const auto t0 = Clock::now();
    auto r = loop->wait(t0 + 30ms);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->tags.empty());
    EXPECT_FALSE(r->woken);
    // Rounded up, never early.
    EXPECT_GE(Clock::now() - t0, 30ms);
}

TEST(EventLoop, PastDeadlinePollsWithoutBlocking) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    const auto t0 = Clock::now();
    auto r = loop->wait(t0 - 1s);
    ASSERT_TRUE(r);
    EXPECT_LT(Clock::now() - t0, 20ms);
}

TEST(EventLoop, WakeFromAnotherThread) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    std::thread t([&] {
        std::this_thread::sleep_for(20ms);
        loop->wake();
    });
    auto r = loop->wait(std::nullopt);
    t.join();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->woken);
    EXPECT_TRUE(r->tags.empty());
    // The wake was consumed: the next wait times out.
    auto again = loop->wait(Clock::now() + 10ms);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->woken);
}

TEST(EventLoop, ReportsTheReadableSocketByTag) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    auto addr = parseEndpoint("127.0.0.1:0");
    ASSERT_TRUE(addr);
    auto a = bindUdp(*addr, 1 << 16);
    auto b = bindUdp(*addr, 1 << 16);
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(loop->watch(a->get(), 7));
    ASSERT_TRUE(loop->watch(b->get(), 9));
    auto bAddr = localAddress(b->get());
    ASSERT_TRUE(bAddr);
    const char msg[] = "x";
    ASSERT_EQ(::sendto(a->get(), msg, 1, 0, bAddr->get(), bAddr->length), 1);
    auto r = loop->wait(Clock::now() + 1s);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->tags.size(), 1u);
    EXPECT_EQ(r->tags[0], 9u);
}

TEST(EventLoop, TimeoutMsClampsAndRoundsUp) {
    const auto now = Clock::now();
    EXPECT_EQ(EventLoop::timeoutMs(std::nullopt, now), -1);
    EXPECT_EQ(EventLoop::timeoutMs(now - 5s, now), 0);
    EXPECT_EQ(EventLoop::timeoutMs(now + 1500us, now), 2);
    EXPECT_EQ(EventLoop::timeoutMs(Clock::time_point::max(), now), 60000);
}

}  // namespace
}  // namespace pinet::io
