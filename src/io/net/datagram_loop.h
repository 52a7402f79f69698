#pragma once
// The I/O loop of a UDP server thread with many sockets, on one of two kernel
// interfaces picked at start-up:
//  - epoll (io::EventLoop): the loop learns which sockets are readable, then
//    drains each with recvmmsg, and flushes each socket's queue with sendmmsg.
//    That is at least one receive and one send system call per socket with
//    traffic in a turn, plus the epoll wake-ups: cheap for a few shared
//    sockets, dear for a socket per client (a TFTP reply port per transfer);
//  - io_uring (Linux 6.0+): a multishot recvmsg armed once on every socket
//    fills buffers from one shared ring of provided buffers, and every
//    socket's sends of a turn go in one submission. One io_uring_enter per
//    turn, whatever the number of sockets.
// The same contract for both, so the server's code and tests do not care:
//   watch(fd, tag) -> wait(deadline) -> deliver(handler) -> send(jobs) -> ...
// and unwatch(tag) before a socket is closed.
//
// Not thread-safe: one thread calls everything, except wake(). watch() may be
// called before that thread starts (it only records the socket).

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/tftp/endpoint.h"
#include "io/udp_batch.h"
#include "proto/error.h"

namespace pinet::io {

enum class LoopBackend { Epoll, Uring };
/// "epoll" / "io_uring".
const char* toString(LoopBackend b);

/// What the server asks for: io_uring where the kernel allows it, or one of them.
enum class LoopChoice { Auto, Uring, Epoll };

struct ReceivedDatagram {
    std::uint64_t tag = 0;
    /// The datagram, or its first bufferSize bytes when truncated.
    std::span<const std::uint8_t> data;
    /// It was longer than the receive buffer (never to be parsed).
    bool truncated = false;
    const sockaddr* from = nullptr;
    socklen_t fromLength = 0;
    [[nodiscard]] core::tftp::Endpoint endpoint() const { return toEndpoint(from, fromLength); }
};

struct DatagramLoopStats {
    std::uint64_t datagrams = 0;        ///< delivered
    std::uint64_t truncated = 0;        ///< of those, longer than the buffer
    std::uint64_t receiveErrors = 0;    ///< a receive the kernel ended with an error
    std::uint64_t bufferExhausted = 0;  ///< io_uring: receives stopped for want of buffers
    std::uint64_t rearmed = 0;          ///< io_uring: multishot receives armed again
    std::uint64_t submissions = 0;      ///< io_uring: io_uring_enter calls
    std::uint64_t registeredFiles = 0;  ///< io_uring: sockets watched as registered files
};

class DatagramLoop {
public:
    using Clock = std::chrono::steady_clock;
    using Tag = std::uint64_t;
    using Handler = std::function<void(const ReceivedDatagram&)>;

    struct Turn {
        /// wake() was called since the last wait.
        bool woken = false;
        /// The wait was interrupted by a signal; nothing is ready.
        bool interrupted = false;
    };

    /// One socket's queue to send, and what became of it.
    struct SendJob {
        int fd = -1;
        SendQueue* queue = nullptr;
        SendQueue::FlushResult result;
    };

    /// Datagrams longer than this are reported truncated (2048: TFTP's largest
    /// request is 1472 bytes, ACKs and ERRORs are smaller; io::RecvBatch).
    static constexpr std::size_t kBufferSize = RecvBatch::kBufferSize;

    virtual ~DatagramLoop() = default;
    DatagramLoop() = default;
    DatagramLoop(const DatagramLoop&) = delete;
    DatagramLoop& operator=(const DatagramLoop&) = delete;

    [[nodiscard]] virtual LoopBackend backend() const = 0;

    /// Reports datagrams arriving on @p fd (non-blocking UDP) with @p tag, a
    /// value not in use by another watched socket. @p last: deliver() hands
    /// them over after every other socket's of the same turn (a listen socket
    /// after the sockets of running sessions).
    virtual Result<void> watch(int fd, Tag tag, bool last = false) = 0;
    /// Stops reporting the socket of @p tag, before the caller closes it.
    /// Datagrams it received and not yet delivered are dropped.
    virtual void unwatch(Tag tag) = 0;

    /// Waits until a watched socket has datagrams, wake() is called, or
    /// @p deadline passes (nullopt: none; waits are capped at a minute). A
    /// deadline in the past polls. Errors other than EINTR are returned.
    virtual Result<Turn> wait(std::optional<Clock::time_point> deadline) = 0;
    /// Hands every datagram the last wait() found to @p onDatagram, the tags
    /// marked `last` after the others; each is valid during its call only. A
    /// busy socket gives at most a bounded number per turn (the rest the next
    /// turn), so one socket cannot starve the timers and the others. If the
    /// handler throws, the datagrams not yet handed over are dropped.
    virtual void deliver(const Handler& onDatagram) = 0;

    /// Sends every job's queue and empties it, each outcome in job.result.
    /// When it returns the kernel is done with every payload (sends never
    /// wait for buffer space: a full socket buffer counts as failed and the
    /// sender's retransmission recovers). @p dropEvery: SendQueue's loss hook.
    virtual void send(std::span<SendJob> jobs, std::uint32_t dropEvery,
                      std::uint64_t& dropCounter) = 0;

    /// Wakes the thread blocked in wait(). Thread-safe.
    virtual void wake() const = 0;

    [[nodiscard]] virtual DatagramLoopStats stats() const = 0;
};

/// The epoll loop; fails only if epoll or an eventfd cannot be made.
Result<std::unique_ptr<DatagramLoop>> makeEpollLoop();

struct UringLoopOptions {
    /// Receive buffers shared by every watched socket (a power of two). Each
    /// holds one datagram (kBufferSize) and its header: 512 x ~2.2 KB = 1.1 MB.
    /// They go back to the kernel at every wait(); when all are taken (a
    /// burst of more datagrams than this in one turn) a socket's receive stops
    /// and is armed again at the next turn: its datagrams wait in the socket's
    /// own buffer meanwhile, none is lost that the kernel had queued.
    unsigned buffers = 512;
    /// Submission queue entries: a turn's sends (one per socket with traffic,
    /// or per GSO group) and re-armed receives. A turn with more is submitted
    /// in several parts.
    unsigned queueDepth = 512;
};

/// The io_uring loop. Fails with one line (the system's reason) when the
/// kernel has no io_uring, refuses it (kernel.io_uring_disabled, a container's
/// seccomp profile: EPERM/ENOSYS) or lacks what this loop needs (provided
/// buffer rings, Linux 5.19; multishot recvmsg, 6.0): it tries a receive on a
/// loopback socket before it says yes.
Result<std::unique_ptr<DatagramLoop>> makeUringLoop(UringLoopOptions options = {});

/// @p choice: Uring or Epoll, or Auto = io_uring if makeUringLoop() succeeds,
/// else epoll with the reason io_uring could not be used in *@p fallbackReason.
Result<std::unique_ptr<DatagramLoop>> makeDatagramLoop(LoopChoice choice,
                                                       std::string* fallbackReason = nullptr);

}  // namespace pinet::io
