// io::DatagramLoop on real loopback sockets, both backends against one
// contract: datagrams in with their tag and sender, the `last` sockets' after
// the others', sends of many sockets in one call, wake-ups and deadlines.
// The io_uring loop besides: a multishot receive that runs out of provided
// buffers is armed again and loses nothing, datagrams longer than the buffer
// are reported truncated, and where the kernel refuses io_uring (seccomp here)
// `auto` falls back to epoll and `uring` fails with the reason.

#include "io/net/datagram_loop.h"

#include <poll.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

namespace pinet::io {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// A bound loopback UDP socket and its address.
struct Socket {
    Fd fd;
    SockAddr addr;
    explicit Socket(int bufferBytes = 256 << 10) {
        auto bound = bindUdp(*parseEndpoint("127.0.0.1:0"), bufferBytes);
        EXPECT_TRUE(bound) << bound.error().message;
        fd = std::move(*bound);
        addr = *localAddress(fd.get());
    }
    void sendTo(const SockAddr& to, const std::vector<std::uint8_t>& bytes) const {
        ASSERT_EQ(::sendto(fd.get(), bytes.data(), bytes.size(), 0, to.get(), to.length),
                  static_cast<ssize_t>(bytes.size()))
            << std::strerror(errno);
    }
    /// Every datagram that arrives within 200 ms of the previous one.
    [[nodiscard]] std::vector<std::vector<std::uint8_t>> drain() const {
        std::vector<std::vector<std::uint8_t>> out;
        for (;;) {
            pollfd p{fd.get(), POLLIN, 0};
            if (::poll(&p, 1, 200) != 1) {
                return out;
            }
            std::vector<std::uint8_t> buf(70000);
            const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
            if (n < 0) {
                return out;
            }
            buf.resize(static_cast<std::size_t>(n));
            out.push_back(std::move(buf));
        }
    }
};

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = static_cast<std::uint8_t>(seed + i * 7);
    }
    return v;
}

struct Got {
    DatagramLoop::Tag tag;
    std::vector<std::uint8_t> data;
    bool truncated;
    std::uint16_t fromPort;
};

class DatagramLoopTest : public ::testing::TestWithParam<LoopBackend> {
protected:
    void SetUp() override {
        if (GetParam() == LoopBackend::Uring) {
            if (auto probe = makeUringLoop(); !probe) {
                GTEST_SKIP() << "no io_uring on this kernel: " << probe.error().message;
            }
        }
        loop_ = make({});
    }
    std::unique_ptr<DatagramLoop> make(UringLoopOptions o) {
        auto l = GetParam() == LoopBackend::Uring ? makeUringLoop(o) : makeEpollLoop();
        EXPECT_TRUE(l) << l.error().message;
        if (!l) {
            return nullptr;
        }
        EXPECT_EQ((*l)->backend(), GetParam());
        return std::move(*l);
    }
    /// Waits and delivers until @p n datagrams arrived or 3 s passed.
    static std::vector<Got> collect(DatagramLoop& loop, std::size_t n) {
        std::vector<Got> got;
        const auto end = Clock::now() + 3s;
        while (got.size() < n && Clock::now() < end) {
            auto turn = loop.wait(Clock::now() + 100ms);
            EXPECT_TRUE(turn) << turn.error().message;
            loop.deliver([&](const ReceivedDatagram& d) {
                got.push_back(
                    {d.tag, {d.data.begin(), d.data.end()}, d.truncated, d.endpoint().port});
            });
        }
        return got;
    }
    std::unique_ptr<DatagramLoop> loop_;
};

TEST_P(DatagramLoopTest, DatagramsArriveWithTheirTagAndSender) {
    Socket a;
    Socket b;
    Socket client;
    ASSERT_TRUE(loop_->watch(a.fd.get(), 10));
    ASSERT_TRUE(loop_->watch(b.fd.get(), 20));
    client.sendTo(a.addr, bytes(5, 1));
    client.sendTo(b.addr, bytes(7, 2));
    client.sendTo(a.addr, bytes(9, 3));
    auto got = collect(*loop_, 3);
    ASSERT_EQ(got.size(), 3U);
    std::map<DatagramLoop::Tag, std::vector<std::vector<std::uint8_t>>> byTag;
    for (const auto& g : got) {
        EXPECT_EQ(g.fromPort, client.addr.port());
        EXPECT_FALSE(g.truncated);
        byTag[g.tag].push_back(g.data);
    }
    // Per socket in the order sent.
    EXPECT_EQ(byTag[10], (std::vector<std::vector<std::uint8_t>>{bytes(5, 1), bytes(9, 3)}));
    EXPECT_EQ(byTag[20], (std::vector<std::vector<std::uint8_t>>{bytes(7, 2)}));
}

TEST_P(DatagramLoopTest, TheLastSocketsDatagramsComeAfterTheOthersOfTheTurn) {
    Socket listen;
    Socket reply;
    Socket client;
    ASSERT_TRUE(loop_->watch(listen.fd.get(), 0, true));
    ASSERT_TRUE(loop_->watch(reply.fd.get(), 1));
    // The listen socket's datagram is sent (and queued) first.
    client.sendTo(listen.addr, bytes(4, 1));
    client.sendTo(reply.addr, bytes(4, 2));
    std::this_thread::sleep_for(20ms);  // both are queued before the one turn
    ASSERT_TRUE(loop_->wait(Clock::now() + 1s));
    std::vector<DatagramLoop::Tag> order;
    loop_->deliver([&](const ReceivedDatagram& d) { order.push_back(d.tag); });
    EXPECT_EQ(order, (std::vector<DatagramLoop::Tag>{1, 0}));
}

TEST_P(DatagramLoopTest, TruncatedDatagramsAreReportedAndTheNextIsWhole) {
    Socket s;
    Socket client;
    ASSERT_TRUE(loop_->watch(s.fd.get(), 5));
    client.sendTo(s.addr, bytes(3000, 9));  // > kBufferSize (2048)
    client.sendTo(s.addr, bytes(100, 4));
    auto got = collect(*loop_, 2);
    ASSERT_EQ(got.size(), 2U);
    EXPECT_TRUE(got[0].truncated);
    EXPECT_LE(got[0].data.size(), DatagramLoop::kBufferSize);
    EXPECT_FALSE(got[1].truncated);
    EXPECT_EQ(got[1].data, bytes(100, 4));
    EXPECT_EQ(loop_->stats().truncated, 1U);
}

TEST_P(DatagramLoopTest, UnwatchedSocketsAreSilentAndTheirTagCanBeReused) {
    Socket a;
    Socket client;
    ASSERT_TRUE(loop_->watch(a.fd.get(), 3));
    client.sendTo(a.addr, bytes(4, 1));
    ASSERT_EQ(collect(*loop_, 1).size(), 1U);
    loop_->unwatch(3);
    client.sendTo(a.addr, bytes(4, 2));  // must not be delivered
    const SockAddr old = a.addr;
    a.fd.reset();  // closed right after unwatch, as the TFTP server does
    Socket b;
    ASSERT_TRUE(loop_->watch(b.fd.get(), 3));
    client.sendTo(b.addr, bytes(6, 3));
    auto got = collect(*loop_, 2);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0].data, bytes(6, 3));
    (void)old;
}

TEST_P(DatagramLoopTest, SendsOfManySocketsInOneCallAllArrive) {
    // A socket per transfer: 300 sockets, each with its own datagrams to send
    // (a GSO window to one peer, a single datagram to the other).
    constexpr std::size_t kSockets = 300;
    std::vector<Socket> sockets(kSockets);
    std::vector<SendQueue> queues(kSockets);
    Socket peerA(4 << 20);
    Socket peerB(4 << 20);
    const auto payload = bytes(508, 5);
    std::vector<std::array<std::uint8_t, 4>> headers(kSockets * 3);
    std::vector<DatagramLoop::SendJob> jobs;
    for (std::size_t i = 0; i < kSockets; ++i) {
        for (std::size_t k = 0; k < 3; ++k) {
            auto& h = headers[i * 3 + k];
            h = {0, 3, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
            queues[i].push(i % 2 == 0 ? peerA.addr : peerB.addr, h, payload);
        }
        jobs.push_back({sockets[i].fd.get(), &queues[i], {}});
    }
    std::uint64_t drops = 0;
    loop_->send(jobs, 0, drops);
    std::uint64_t sent = 0;
    for (const auto& j : jobs) {
        EXPECT_EQ(j.result.failed, 0U);
        sent += j.result.sent;
        EXPECT_TRUE(j.queue->empty());
    }
    EXPECT_EQ(sent, kSockets * 3);
    auto a = peerA.drain();
    auto b = peerB.drain();
    EXPECT_EQ(a.size() + b.size(), kSockets * 3);
    for (const auto& d : a) {
        ASSERT_EQ(d.size(), 512U);
        EXPECT_TRUE(std::equal(payload.begin(), payload.end(), d.begin() + 4));
    }
    // Windows left as GSO groups (one message per socket) on both backends.
    std::uint64_t segmented = 0;
    for (const auto& j : jobs) {
        segmented += j.result.segmented;
    }
    EXPECT_EQ(segmented, kSockets * 3);
}

TEST_P(DatagramLoopTest, EveryOneOfManySocketsIsHeard) {
    constexpr std::size_t kSockets = 300;
    std::vector<Socket> sockets(kSockets);
    Socket client;
    for (std::size_t i = 0; i < kSockets; ++i) {
        ASSERT_TRUE(loop_->watch(sockets[i].fd.get(), 1000 + i));
    }
    for (std::size_t i = 0; i < kSockets; ++i) {
        client.sendTo(sockets[i].addr, bytes(4, static_cast<std::uint8_t>(i)));
    }
    auto got = collect(*loop_, kSockets);
    ASSERT_EQ(got.size(), kSockets);
    std::vector<DatagramLoop::Tag> tags;
    for (const auto& g : got) {
        EXPECT_EQ(g.data, bytes(4, static_cast<std::uint8_t>(g.tag - 1000)));
        tags.push_back(g.tag);
    }
    std::sort(tags.begin(), tags.end());
    EXPECT_EQ(std::unique(tags.begin(), tags.end()), tags.end());
}

/// wait(), again while interrupted (a signal, or the task work of a ring that
/// an earlier test closed on this thread: both end a wait with EINTR).
Result<DatagramLoop::Turn> waitOut(DatagramLoop& loop, Clock::time_point deadline) {
    for (;;) {
        auto turn = loop.wait(deadline);
        if (!turn || !turn->interrupted) {
            return turn;
        }
    }
}

TEST_P(DatagramLoopTest, WakeEndsAWaitAndADeadlineEndsItToo) {
    Socket s;
    ASSERT_TRUE(loop_->watch(s.fd.get(), 1));
    auto start = Clock::now();
    auto turn = waitOut(*loop_, start + 60ms);
    ASSERT_TRUE(turn);
    EXPECT_FALSE(turn->woken);
    EXPECT_GE(Clock::now() - start, 55ms);
    std::thread waker([this] {
        std::this_thread::sleep_for(30ms);
        loop_->wake();
    });
    start = Clock::now();
    turn = waitOut(*loop_, start + 10s);
    waker.join();
    ASSERT_TRUE(turn);
    EXPECT_TRUE(turn->woken);
    EXPECT_LT(Clock::now() - start, 5s);
    // One wake-up, reported once.
    turn = waitOut(*loop_, Clock::now() + 30ms);
    ASSERT_TRUE(turn);
    EXPECT_FALSE(turn->woken);
}

TEST_P(DatagramLoopTest, AHandlerThatThrowsLosesOnlyTheRestOfItsTurn) {
    Socket s;
    Socket client;
    ASSERT_TRUE(loop_->watch(s.fd.get(), 1));
    client.sendTo(s.addr, bytes(4, 1));
    client.sendTo(s.addr, bytes(4, 2));
    std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(loop_->wait(Clock::now() + 1s));
    EXPECT_THROW(loop_->deliver([](const ReceivedDatagram&) { throw std::runtime_error("x"); }),
                 std::runtime_error);
    client.sendTo(s.addr, bytes(4, 3));
    auto got = collect(*loop_, 1);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.back().data, bytes(4, 3));
}

TEST_P(DatagramLoopTest, ALoopMadeOnOneThreadRunsOnAnother) {
    // As TftpServer uses it: made and given its listen socket at create(),
    // then run by the server's thread (io_uring binds its ring to that thread).
    Socket listen;
    Socket client;
    ASSERT_TRUE(loop_->watch(listen.fd.get(), 7, true));
    std::vector<Got> got;
    std::uint64_t sent = 0;
    std::thread runner([&] {
        Socket reply;  // opened by the loop's thread, as a transfer's port
        EXPECT_TRUE(loop_->watch(reply.fd.get(), 8));
        client.sendTo(listen.addr, bytes(3, 1));
        client.sendTo(reply.addr, bytes(3, 2));
        got = collect(*loop_, 2);
        SendQueue q;
        q.push(client.addr, std::span<const std::uint8_t>(bytes(4, 3)));
        DatagramLoop::SendJob job{reply.fd.get(), &q, {}};
        std::uint64_t drops = 0;
        loop_->send(std::span(&job, 1), 0, drops);
        sent = job.result.sent;
        loop_->unwatch(8);
    });
    runner.join();
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(sent, 1U);
    EXPECT_EQ(client.drain().size(), 1U);
    if (GetParam() == LoopBackend::Uring) {
        EXPECT_EQ(loop_->stats().registeredFiles, 2U);  // registered on both threads
    }
}

std::string backendName(const ::testing::TestParamInfo<LoopBackend>& p) {
    return p.param == LoopBackend::Uring ? "Uring" : "Epoll";
}

INSTANTIATE_TEST_SUITE_P(Backends, DatagramLoopTest,
                         ::testing::Values(LoopBackend::Epoll, LoopBackend::Uring), backendName);

// ---- io_uring only ------------------------------------------------------

#define SKIP_WITHOUT_URING()                                                     \
    if (auto probe = makeUringLoop(); !probe) {                                  \
        GTEST_SKIP() << "no io_uring on this kernel: " << probe.error().message; \
    }

TEST(UringLoop, RunningOutOfBuffersDelaysDatagramsButLosesNone) {
    SKIP_WITHOUT_URING();
    // 4 buffers, 40 datagrams queued before the first turn: the multishot
    // receive ends with ENOBUFS after 4, is armed again after they go back,
    // and every datagram arrives once, in order.
    auto loop = makeUringLoop({.buffers = 4, .queueDepth = 16});
    ASSERT_TRUE(loop) << loop.error().message;
    Socket s;
    Socket client;
    ASSERT_TRUE((*loop)->watch(s.fd.get(), 1));
    ASSERT_TRUE((*loop)->wait(Clock::now()));  // armed
    constexpr int kCount = 40;
    for (int i = 0; i < kCount; ++i) {
        client.sendTo(s.addr, bytes(16, static_cast<std::uint8_t>(i)));
    }
    std::vector<std::vector<std::uint8_t>> got;
    const auto end = Clock::now() + 3s;
    int turns = 0;
    while (got.size() < kCount && Clock::now() < end) {
        ASSERT_TRUE((*loop)->wait(Clock::now() + 100ms));
        std::size_t thisTurn = 0;
        (*loop)->deliver([&](const ReceivedDatagram& d) {
            got.emplace_back(d.data.begin(), d.data.end());
            ++thisTurn;
        });
        EXPECT_LE(thisTurn, 4U);  // never more than the buffers
        ++turns;
    }
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kCount));
    for (int i = 0; i < kCount; ++i) {
        EXPECT_EQ(got[static_cast<std::size_t>(i)], bytes(16, static_cast<std::uint8_t>(i)));
    }
    const auto st = (*loop)->stats();
    EXPECT_EQ(st.registeredFiles, 1U);  // the socket is used through a registered slot
    EXPECT_GE(st.bufferExhausted, 1U);
    EXPECT_GE(st.rearmed, st.bufferExhausted);
    EXPECT_EQ(st.datagrams, static_cast<std::uint64_t>(kCount));
    EXPECT_GE(turns, kCount / 4);
}

TEST(UringLoop, BufferShortageOnOneSocketDoesNotSilenceTheOthers) {
    SKIP_WITHOUT_URING();
    auto loop = makeUringLoop({.buffers = 8, .queueDepth = 16});
    ASSERT_TRUE(loop) << loop.error().message;
    Socket busy;
    Socket quiet;
    Socket client;
    ASSERT_TRUE((*loop)->watch(busy.fd.get(), 1));
    ASSERT_TRUE((*loop)->watch(quiet.fd.get(), 2));
    ASSERT_TRUE((*loop)->wait(Clock::now()));
    for (int i = 0; i < 50; ++i) {
        client.sendTo(busy.addr, bytes(8, static_cast<std::uint8_t>(i)));
    }
    client.sendTo(quiet.addr, bytes(8, 200));
    std::size_t busyGot = 0;
    std::size_t quietGot = 0;
    const auto end = Clock::now() + 3s;
    while ((busyGot < 50 || quietGot < 1) && Clock::now() < end) {
        ASSERT_TRUE((*loop)->wait(Clock::now() + 100ms));
        (*loop)->deliver([&](const ReceivedDatagram& d) { (d.tag == 1 ? busyGot : quietGot)++; });
    }
    EXPECT_EQ(busyGot, 50U);
    EXPECT_EQ(quietGot, 1U);
}

TEST(UringLoop, ABadBufferCountIsRefused) {
    SKIP_WITHOUT_URING();
    auto loop = makeUringLoop({.buffers = 100, .queueDepth = 16});
    ASSERT_FALSE(loop);
    EXPECT_NE(loop.error().message.find("power of two"), std::string::npos);
}

/// Runs @p body in a child whose seccomp filter answers io_uring_setup with
/// @p err (as Docker's default profile does with EPERM); the child's exit code.
template <class F>
int inChildWithoutUring(int err, F body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (ctx == nullptr ||
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(static_cast<std::uint32_t>(err)),
                             SCMP_SYS(io_uring_setup), 0) != 0 ||
            seccomp_load(ctx) != 0) {
            ::_exit(90);
        }
        ::_exit(body());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(UringLoop, AutoFallsBackToEpollWhereTheKernelRefusesIoUring) {
    for (const int err : {EPERM, ENOSYS}) {
        const int rc = inChildWithoutUring(err, [err] {
            std::string reason;
            auto loop = makeDatagramLoop(LoopChoice::Auto, &reason);
            if (!loop || (*loop)->backend() != LoopBackend::Epoll) {
                return 1;
            }
            if (reason.find("io_uring_setup") == std::string::npos ||
                reason.find(std::strerror(err)) == std::string::npos) {
                return 2;
            }
            // The fallback loop works.
            Socket s;
            Socket client;
            if (!(*loop)->watch(s.fd.get(), 1)) {
                return 3;
            }
            client.sendTo(s.addr, bytes(4, 1));
            bool heard = false;
            for (int i = 0; i < 20 && !heard; ++i) {
                if (!(*loop)->wait(Clock::now() + 100ms)) {
                    return 4;
                }
                (*loop)->deliver([&](const ReceivedDatagram&) { heard = true; });
            }
            if (!heard) {
                return 5;
            }
            // Forced io_uring fails with the reason; forced epoll is epoll.
            auto forced = makeDatagramLoop(LoopChoice::Uring);
            if (forced || forced.error().message.find("io_uring_setup") == std::string::npos) {
                return 6;
            }
            auto epoll = makeDatagramLoop(LoopChoice::Epoll);
            return epoll && (*epoll)->backend() == LoopBackend::Epoll ? 0 : 7;
        });
        EXPECT_EQ(rc, 0) << std::strerror(err);
    }
}

TEST(UringLoop, AutoPicksIoUringWhereTheKernelHasIt) {
    const bool available = static_cast<bool>(makeUringLoop());
    std::string reason;
    auto loop = makeDatagramLoop(LoopChoice::Auto, &reason);
    ASSERT_TRUE(loop);
    EXPECT_EQ((*loop)->backend(), available ? LoopBackend::Uring : LoopBackend::Epoll) << reason;
    EXPECT_EQ(reason.empty(), available);
}

}  // namespace
}  // namespace pinet::io
