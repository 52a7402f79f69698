#include "io/net/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace pinet::io {

Result<EventLoop> EventLoop::create() {
    Fd ep(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep) {
        return fail(fmt::format("epoll_create1: {}", std::strerror(errno)));
    }
    Fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake) {
        return fail(fmt::format("eventfd: {}", std::strerror(errno)));
    }
    EventLoop loop(std::move(ep), std::move(wake));
    if (auto r = loop.watch(loop.wake_.get(), kWakeTag); !r) {
        return tl::unexpected(r.error());
    }
    loop.ready_.reserve(kMaxEvents);
    return loop;
}

Result<void> EventLoop::watch(int fd, Tag tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        return fail(fmt::format("epoll_ctl: {}", std::strerror(errno)));
    }
    return {};
}

int EventLoop::timeoutMs(std::optional<Clock::time_point> deadline, Clock::time_point now) {
    if (!deadline) {
        return -1;
    }
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
    // The cap keeps int arithmetic safe for far deadlines (time_point::max()).
    return static_cast<int>(std::clamp<std::int64_t>(ms, 0, 60000));
}

Result<EventLoop::Ready> EventLoop::wait(std::optional<Clock::time_point> deadline) {
    std::array<epoll_event, kMaxEvents> events{};
    const int timeout = timeoutMs(deadline, Clock::now());
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                               timeout < 0 ? 60000 : timeout);
    ready_.clear();
    Ready r;
    if (n < 0) {
        if (errno == EINTR) {
            r.interrupted = true;
            return r;
        }
        return fail(fmt::format("epoll_wait: {}", std::strerror(errno)));
    }
    for (int i = 0; i < n; ++i) {
        const Tag tag = events[static_cast<std::size_t>(i)].data.u64;
        if (tag == kWakeTag) {
            std::uint64_t v = 0;
            // Non-blocking; EAGAIN means another wait already drained it.
            [[maybe_unused]] auto rc = ::read(wake_.get(), &v, sizeof v);
            r.woken = true;
            continue;
        }
        ready_.push_back(tag);
    }
    r.tags = ready_;
    return r;
}

void EventLoop::wake() const {
    const std::uint64_t one = 1;
    // Can only fail if the counter would overflow (it is then already non-zero) or the
    // fd is gone; either way a waiter has a wake-up pending or there is none.
    [[maybe_unused]] auto rc = ::write(wake_.get(), &one, sizeof one);
}

}  // namespace pinet::io
