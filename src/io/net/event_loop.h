#pragma once
// The one event loop every server thread runs on: epoll over the thread's
// sockets, an eventfd that another thread uses to wake it (stop, new work),
// and a deadline, so that timers and sockets are served by the same wait.
// The loop owns no policy: it reports which tagged sources are ready (readable,
// or writable for those watched for output) and whether it was woken; the
// caller drains them and computes the next deadline. Level-triggered.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "io/fd.h"
#include "proto/error.h"

namespace pinet::io {

class EventLoop {
public:
    using Clock = std::chrono::steady_clock;
    using Tag = std::uint64_t;

    /// What a source is watched for. Errors and hang-ups are always reported.
    enum class Interest { Read, Write };

    /// One ready source.
    struct Event {
        Tag tag = 0;
        bool readable = false;
        bool writable = false;
        bool hangup = false;  ///< EPOLLHUP or EPOLLERR: the next read/write says what
    };

    /// Creates the epoll instance and the wake eventfd. Fails with one clear line.
    /// @p maxEvents: sources taken per wait (more are reported on the next call).
    static Result<EventLoop> create(std::size_t maxEvents = 64);

    EventLoop(EventLoop&&) noexcept = default;
    EventLoop& operator=(EventLoop&&) noexcept = default;
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;
    ~EventLoop() = default;

    /// Watches @p fd for input (or output), reported as @p tag. The fd must outlive
    /// the loop's use of it; closing it removes it from the loop.
    Result<void> watch(int fd, Tag tag, Interest interest = Interest::Read);
    /// Changes what a watched @p fd is watched for, and its tag.
    Result<void> modify(int fd, Tag tag, Interest interest);
    /// Stops watching @p fd (before it is closed, or to pause it).
    void unwatch(int fd);

    /// What one wait() saw.
    struct Ready {
        /// Tags of ready sources, in the kernel's order; valid until the next wait().
        std::span<const Tag> tags;
        /// The same sources with what each is ready for.
        std::span<const Event> events;
        /// wake() was called since the last wait (the eventfd is drained).
        bool woken = false;
        /// The wait was interrupted by a signal (EINTR); nothing is ready.
        bool interrupted = false;
    };

    /// Waits until a watched source is readable, wake() is called, or @p deadline
    /// passes (nullopt: no deadline). A deadline in the past polls without
    /// blocking. Waits are capped at a minute, so callers re-check their state
    /// at least that often. Errors other than EINTR are returned.
    Result<Ready> wait(std::optional<Clock::time_point> deadline);

    /// Wakes the thread blocked in wait(). Thread-safe and async-signal-safe.
    void wake() const;

    /// Milliseconds to wait for @p deadline from @p now (rounded up, so a timer
    /// never fires early), clamped to [0, 60000]; -1 for no deadline.
    static int timeoutMs(std::optional<Clock::time_point> deadline, Clock::time_point now);

private:
    EventLoop(Fd epoll, Fd wake) : epoll_(std::move(epoll)), wake_(std::move(wake)) {}
    Result<void> control(int op, int fd, Tag tag, Interest interest);
    /// Tag reserved for the wake eventfd (callers' tags are any other value).
    static constexpr Tag kWakeTag = ~Tag{0};

    Fd epoll_;
    Fd wake_;
    std::size_t maxEvents_ = 64;
    std::vector<Tag> ready_;
    std::vector<Event> events_;
};

}  // namespace pinet::io
