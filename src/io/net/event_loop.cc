#include "io/net/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace pinet::io {

Result<EventLoop> EventLoop::create(std::size_t maxEvents) {
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
    // epoll_wait takes an int count; a few thousand is already more than a turn needs.
    loop.maxEvents_ = std::clamp<std::size_t>(maxEvents, 1, 4096);
    loop.ready_.reserve(loop.maxEvents_);
    loop.events_.reserve(loop.maxEvents_);
    return loop;
}

Result<void> EventLoop::control(int op, int fd, Tag tag, Interest interest) {
    epoll_event ev{};
    ev.events = interest == Interest::Read ? EPOLLIN : EPOLLOUT;
    ev.data.u64 = tag;
    if (::epoll_ctl(epoll_.get(), op, fd, &ev) != 0) {
        return fail(fmt::format("epoll_ctl: {}", std::strerror(errno)));
    }
    return {};
}

Result<void> EventLoop::watch(int fd, Tag tag, Interest interest) {
    return control(EPOLL_CTL_ADD, fd, tag, interest);
}

Result<void> EventLoop::modify(int fd, Tag tag, Interest interest) {
    return control(EPOLL_CTL_MOD, fd, tag, interest);
}

void EventLoop::unwatch(int fd) {
    // Fails only for an fd that is not watched (or already closed): nothing to undo.
    (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
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
    // One allocation per wait is noise next to the epoll_wait system call.
    std::vector<epoll_event> events(maxEvents_);
    const int timeout = timeoutMs(deadline, Clock::now());
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                               timeout < 0 ? 60000 : timeout);
    ready_.clear();
    events_.clear();
    Ready r;
    if (n < 0) {
        if (errno == EINTR) {
            r.interrupted = true;
            return r;
        }
        return fail(fmt::format("epoll_wait: {}", std::strerror(errno)));
    }
    for (int i = 0; i < n; ++i) {
        const auto& e = events[static_cast<std::size_t>(i)];
        const Tag tag = e.data.u64;
        if (tag == kWakeTag) {
            std::uint64_t v = 0;
            // Non-blocking; EAGAIN means another wait already drained it.
            [[maybe_unused]] auto rc = ::read(wake_.get(), &v, sizeof v);
            r.woken = true;
            continue;
        }
        ready_.push_back(tag);
        events_.push_back(Event{tag, (e.events & EPOLLIN) != 0, (e.events & EPOLLOUT) != 0,
                                (e.events & (EPOLLHUP | EPOLLERR)) != 0});
    }
    r.tags = ready_;
    r.events = events_;
    return r;
}

void EventLoop::wake() const {
    const std::uint64_t one = 1;
    // Can only fail if the counter would overflow (it is then already non-zero) or the
    // fd is gone; either way a waiter has a wake-up pending or there is none.
    [[maybe_unused]] auto rc = ::write(wake_.get(), &one, sizeof one);
}

}  // namespace pinet::io
