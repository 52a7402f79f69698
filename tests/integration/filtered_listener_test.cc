// io::listenTcpOnlyFrom on loopback: the kernel's BPF filter lets in the
// allowed source address (or subnet) and drops everyone else's SYN, so their
// connect() never completes. Loopback accepts any 127/8 source, so one host
// plays both boards.
#include "io/net/filtered_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include <gtest/gtest.h>

namespace pinet::io {
namespace {

std::uint16_t portOf(int fd) {
    sockaddr_in sa{};
    socklen_t len = sizeof(sa);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    return ntohs(sa.sin_port);
}

/// Connects from @p src to 127.0.0.1:@p port; true if the handshake completes within @p ms.
bool connectsFrom(const std::string& src, std::uint16_t port, int ms) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, src.c_str(), &local.sin_addr);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
        return false;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) {
        return true;
    }
    if (errno != EINPROGRESS) {
        return false;
    }
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, ms) != 1) {
        return false;  // the SYN was dropped: still trying
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    return err == 0;
}

TEST(FilteredListener, OnlyTheAllowedAddressConnects) {
    auto l = listenTcpOnlyFrom("127.0.0.1", 0, "127.0.0.2");
    ASSERT_TRUE(l) << l.error().message;
    auto port = portOf(l->get());
    EXPECT_TRUE(connectsFrom("127.0.0.2", port, 1000));
    EXPECT_FALSE(connectsFrom("127.0.0.3", port, 300));
    EXPECT_FALSE(connectsFrom("127.0.0.1", port, 300));
}

TEST(FilteredListener, ASubnetLetsInItsAddressesOnly) {
    auto l = listenTcpOnlyFrom("127.0.0.1", 0, "127.0.5.0/24");
    ASSERT_TRUE(l) << l.error().message;
    auto port = portOf(l->get());
    EXPECT_TRUE(connectsFrom("127.0.5.9", port, 1000));
    EXPECT_TRUE(connectsFrom("127.0.5.200", port, 1000));
    EXPECT_FALSE(connectsFrom("127.0.6.9", port, 300));
}

TEST(FilteredListener, TheFilterCannotBeRemoved) {
    auto l = listenTcpOnlyFrom("127.0.0.1", 0, "127.0.0.2");
    ASSERT_TRUE(l);
    // What a process handed the socket might try: SO_LOCK_FILTER refuses it.
    EXPECT_NE(::setsockopt(l->get(), SOL_SOCKET, SO_DETACH_FILTER, nullptr, 0), 0);
    EXPECT_FALSE(connectsFrom("127.0.0.3", portOf(l->get()), 300));
}

TEST(FilteredListener, AcceptedConnectionsFindADeadPeer) {
    // A crashed board's connection must not hold qemu-nbd's one slot for long.
    auto l = listenTcpOnlyFrom("127.0.0.1", 0, "127.0.0.2");
    ASSERT_TRUE(l);
    int on = 0;
    int idle = 0;
    socklen_t len = sizeof(on);
    ::getsockopt(l->get(), SOL_SOCKET, SO_KEEPALIVE, &on, &len);
    len = sizeof(idle);
    ::getsockopt(l->get(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, &len);
    EXPECT_EQ(on, 1);
    EXPECT_EQ(idle, 10);
}

TEST(FilteredListener, RefusesWhatIsNotAnAddress) {
    for (const char* bad : {"", "10.0.0", "10.0.0.1/33", "10.0.0.1/", "host", "::1"}) {
        EXPECT_FALSE(listenTcpOnlyFrom("127.0.0.1", 0, bad)) << bad;
    }
    EXPECT_FALSE(listenTcpOnlyFrom("not-an-ip", 0, "127.0.0.2"));
}

}  // namespace
}  // namespace pinet::io
