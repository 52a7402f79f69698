// io::DatagramLoop on io_uring (liburing): every watched socket has one
// multishot IORING_OP_RECVMSG armed (Linux 6.0) that takes its buffers from one
// provided-buffer ring (5.19), and a turn's sends are IORING_OP_SENDMSG
// entries submitted together. The ring is made with SINGLE_ISSUER and
// DEFER_TASKRUN (6.1) where the kernel has them: receive completions then run
// only when the loop thread enters the kernel to wait, never in the middle of
// a turn, and no other thread contends for the ring.
//
// A request the kernel ends (no IORING_CQE_F_MORE: out of buffers, CQ
// overflow, an error) is armed again at the next wait(), after the delivered
// buffers went back: a datagram the socket had queued stays in its buffer
// until then, so running out of buffers delays datagrams but loses none.

#include <liburing.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "io/net/datagram_loop.h"

namespace pinet::io {

namespace {

/// user_data: the kind of request in the top byte, its index below.
enum class Op : std::uint64_t { Receive = 1, Send = 2, Wake = 3, Cancel = 4 };
constexpr unsigned kOpShift = 56;
constexpr std::uint64_t kIndexMask = (std::uint64_t{1} << kOpShift) - 1;
constexpr std::uint64_t userData(Op op, std::uint64_t index) {
    return (static_cast<std::uint64_t>(op) << kOpShift) | (index & kIndexMask);
}
constexpr Op opOf(std::uint64_t data) {
    return static_cast<Op>(data >> kOpShift);
}
/// The one buffer group (IOSQE_BUFFER_SELECT) of every receive.
constexpr int kBufferGroup = 0;
/// Room kept for the sender's name in every buffer: IPv4 or IPv6.
constexpr unsigned kNameBytes = sizeof(sockaddr_in6);
/// One buffer as the kernel fills it: its io_uring_recvmsg_out, the name, the
/// datagram (kBufferSize at most, as on epoll: longer ones are truncated).
constexpr std::size_t kReceiveBytes =
    sizeof(io_uring_recvmsg_out) + kNameBytes + DatagramLoop::kBufferSize;
/// Buffers lie this far apart: a whole number of cache lines.
constexpr std::size_t kSlotBytes = (kReceiveBytes + 63) & ~std::size_t{63};
/// Registered-file slots: the kernel then takes no reference on a socket per
/// send (fget/fput, ~1.5 % of a busy server's CPU). Enough for the TFTP
/// server's default 256 transfers many times over; sockets beyond it (or
/// beyond RLIMIT_NOFILE) are used by descriptor, which works the same.
constexpr unsigned kFixedFiles = 4096;
/// Waits are capped like io::EventLoop's, so callers re-check their state.
constexpr auto kMaxWait = std::chrono::seconds(60);

std::string sysError(const char* what, int err) {
    return fmt::format("{}: {}", what, std::strerror(err));
}

/// Anonymous memory, page-aligned (the buffer ring must be), unmapped on destruction.
class Mapping {
public:
    Mapping() = default;
    explicit Mapping(std::size_t bytes) : bytes_(bytes) {
        void* p =
            ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        data_ = p == MAP_FAILED ? nullptr : static_cast<std::uint8_t*>(p);
    }
    Mapping(Mapping&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    Mapping& operator=(Mapping&& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(bytes_, o.bytes_);
        return *this;
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() {
        if (data_ != nullptr) {
            ::munmap(data_, bytes_);
        }
    }
    [[nodiscard]] std::uint8_t* data() const { return data_; }

private:
    std::uint8_t* data_ = nullptr;
    std::size_t bytes_ = 0;
};

/// A provided-buffer ring of @p count buffers of kSlotBytes, registered as
/// kBufferGroup on @p ring (liburing 2.3 has no io_uring_setup_buf_ring).
struct BufferRing {
    Mapping ringMemory;
    Mapping buffers;
    io_uring_buf_ring* ring = nullptr;
    unsigned count = 0;
    int mask = 0;

    Result<void> setUp(io_uring& uring, unsigned n) {
        count = n;
        mask = io_uring_buf_ring_mask(n);
        ringMemory = Mapping(std::max<std::size_t>(n * sizeof(io_uring_buf), 4096));
        buffers = Mapping(n * kSlotBytes);
        if (ringMemory.data() == nullptr || buffers.data() == nullptr) {
            return fail(sysError("io_uring buffers: mmap", errno));
        }
        ring = reinterpret_cast<io_uring_buf_ring*>(ringMemory.data());
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uint64_t>(ring);
        reg.ring_entries = n;
        reg.bgid = kBufferGroup;
        if (int rc = io_uring_register_buf_ring(&uring, &reg, 0); rc < 0) {
            return fail(sysError("io_uring provided buffer ring (Linux 5.19+)", -rc));
        }
        io_uring_buf_ring_init(ring);
        for (unsigned i = 0; i < n; ++i) {
            add(static_cast<std::uint16_t>(i), static_cast<int>(i));
        }
        io_uring_buf_ring_advance(ring, static_cast<int>(n));
        return {};
    }
    [[nodiscard]] std::uint8_t* slot(std::uint16_t bid) const {
        return buffers.data() + std::size_t{bid} * kSlotBytes;
    }
    void add(std::uint16_t bid, int offset) {
        io_uring_buf_ring_add(ring, slot(bid), kReceiveBytes, bid, mask, offset);
    }
};

/// The recvmsg template of every multishot receive: only msg_namelen and
/// msg_controllen count (the kernel lays name, control and payload out in
/// each buffer after an io_uring_recvmsg_out).
msghdr receiveTemplate() {
    msghdr m{};
    m.msg_namelen = kNameBytes;
    return m;
}

/// Can this kernel do what the loop needs? A throwaway ring (no SINGLE_ISSUER,
/// so this thread may use it) arms a multishot recvmsg on an AF_UNIX datagram
/// pair (no network needed) and must see two datagrams arrive through it.
Result<void> probeMultishotReceive() {
    io_uring ring{};
    if (int rc = io_uring_queue_init(4, &ring, 0); rc < 0) {
        return fail(sysError("io_uring_setup", -rc));
    }
    struct Exit {
        io_uring* r;
        ~Exit() { io_uring_queue_exit(r); }
    } exitRing{&ring};
    BufferRing buffers;
    if (auto b = buffers.setUp(ring, 2); !b) {
        return b;
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) {
        return fail(sysError("socketpair", errno));
    }
    Fd a(pair[0]);
    Fd b(pair[1]);
    msghdr tmpl = receiveTemplate();
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recvmsg_multishot(sqe, a.get(), &tmpl, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    if (int rc = io_uring_submit(&ring); rc < 0) {
        return fail(sysError("io_uring_enter", -rc));
    }
    for (int i = 0; i < 2; ++i) {
        const char byte = 'p';
        if (::send(b.get(), &byte, 1, 0) != 1) {
            return fail(sysError("send", errno));
        }
        io_uring_cqe* cqe = nullptr;
        __kernel_timespec ts{1, 0};
        if (int rc = io_uring_wait_cqe_timeout(&ring, &cqe, &ts); rc < 0) {
            return fail(sysError("io_uring multishot recvmsg (Linux 6.0+)", -rc));
        }
        const int res = cqe->res;
        const unsigned flags = cqe->flags;
        io_uring_cqe_seen(&ring, cqe);
        if (res < 0) {
            return fail(sysError("io_uring multishot recvmsg (Linux 6.0+)", -res));
        }
        if ((flags & IORING_CQE_F_MORE) == 0 || (flags & IORING_CQE_F_BUFFER) == 0) {
            return fail("io_uring multishot recvmsg (Linux 6.0+): not supported by this kernel");
        }
    }
    return {};
}

class UringLoop final : public DatagramLoop {
public:
    UringLoop() = default;
    ~UringLoop() override {
        if (ringReady_) {
            // Pending receives are cancelled with the ring (and when the thread
            // that submitted them ends); the buffers are unmapped after.
            io_uring_queue_exit(&ring_);
        }
    }

    Result<void> init(const UringLoopOptions& o) {
        if (o.buffers == 0 || (o.buffers & (o.buffers - 1)) != 0 || o.buffers > 32768) {
            return fail(
                fmt::format("io_uring: {} buffers: need a power of two up to 32768", o.buffers));
        }
        const unsigned depth = std::max(8U, o.queueDepth);
        // Completions: every buffer's datagram, one send per entry, plus the
        // end of each receive; the kernel keeps what overflows (and ends the
        // receives it could not report, which are armed again).
        io_uring_params p{};
        p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                  IORING_SETUP_R_DISABLED;
        p.cq_entries = 2 * (o.buffers + depth);
        int rc = io_uring_queue_init_params(depth, &ring_, &p);
        if (rc == -EINVAL) {
            // Before Linux 6.1: no DEFER_TASKRUN. Completions then run as task
            // work at any kernel entry; the loop does not depend on when.
            p = io_uring_params{};
            p.flags = IORING_SETUP_CQSIZE;
            p.cq_entries = 2 * (o.buffers + depth);
            rc = io_uring_queue_init_params(depth, &ring_, &p);
        }
        if (rc < 0) {
            return fail(sysError("io_uring_setup", -rc));
        }
        ringReady_ = true;
        disabled_ = (p.flags & IORING_SETUP_R_DISABLED) != 0;
        if ((p.features & IORING_FEAT_NODROP) == 0 || (p.features & IORING_FEAT_EXT_ARG) == 0) {
            return fail("io_uring: kernel too old (no IORING_FEAT_NODROP/EXT_ARG, Linux 5.11)");
        }
        if (auto b = buffers_.setUp(ring_, o.buffers); !b) {
            return b;
        }
        // Blocking: io_uring completes a read of a non-blocking file with
        // EAGAIN instead of waiting for it.
        wakeFd_ = Fd(::eventfd(0, EFD_CLOEXEC));
        if (!wakeFd_) {
            return fail(sysError("eventfd", errno));
        }
        pending_.reserve(o.buffers);
        rlimit files{};
        const unsigned slots =
            ::getrlimit(RLIMIT_NOFILE, &files) == 0
                ? static_cast<unsigned>(std::min<rlim_t>(files.rlim_cur, kFixedFiles))
                : 0;
        if (slots > 0 && io_uring_register_files_sparse(&ring_, slots) == 0) {
            for (unsigned i = slots; i > 0; --i) {
                freeSlots_.push_back(static_cast<int>(i - 1));
            }
        }
        return {};
    }

    [[nodiscard]] LoopBackend backend() const override { return LoopBackend::Uring; }

    Result<void> watch(int fd, Tag tag, bool last) override {
        if (byTag_.contains(tag)) {
            return fail(fmt::format("io_uring: tag {} watched twice", tag));
        }
        const std::uint64_t id = nextId_++;
        sources_[id] = Source{fd, tag, last, registerFile(fd)};
        byTag_[tag] = id;
        toArm_.push_back(id);  // armed at the next wait(), on the loop's thread
        return {};
    }

    void unwatch(Tag tag) override {
        const auto it = byTag_.find(tag);
        if (it == byTag_.end()) {
            return;
        }
        // The armed request holds its own reference to the socket, so the
        // caller may close it now; the cancel goes out with the next
        // submission. Completions for the id that still arrive are dropped.
        const std::uint64_t id = it->second;
        if (const auto s = sources_.find(id); s != sources_.end()) {
            unregisterFile(s->second.fd, s->second.slot);
        }
        sources_.erase(id);
        byTag_.erase(it);
        toCancel_.push_back(id);
    }

    Result<Turn> wait(std::optional<Clock::time_point> deadline) override {
        Turn turn;
        if (auto e = enableOnThisThread(); !e) {
            return tl::unexpected(e.error());
        }
        recycle();
        prepareArms();
        if (!wakeArmed_) {
            if (io_uring_sqe* sqe = sqeOrSubmit()) {
                io_uring_prep_read(sqe, wakeFd_.get(), &wakeValue_, sizeof wakeValue_, 0);
                io_uring_sqe_set_data64(sqe, userData(Op::Wake, 0));
                wakeArmed_ = true;
            }
        }
        // Datagrams reaped while sending, or completions already posted: do not block.
        const bool ready = !pending_.empty() || woken_ || io_uring_cq_ready(&ring_) > 0;
        std::chrono::nanoseconds wait = kMaxWait;
        if (ready) {
            wait = std::chrono::nanoseconds(0);
        } else if (deadline) {
            wait = std::clamp<std::chrono::nanoseconds>(*deadline - Clock::now(),
                                                        std::chrono::nanoseconds(0), kMaxWait);
        }
        int rc = 0;
        ++stats_.submissions;
        if (wait.count() == 0) {
            rc = io_uring_submit_and_get_events(&ring_);
        } else {
            __kernel_timespec ts{};
            ts.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(wait).count();
            ts.tv_nsec = (wait - std::chrono::seconds(ts.tv_sec)).count();
            io_uring_cqe* cqe = nullptr;
            rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        }
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
            return fail(sysError("io_uring_enter", -rc));
        }
        turn.interrupted = rc == -EINTR;
        reap();
        turn.woken = std::exchange(woken_, false);
        return turn;
    }

    void deliver(const Handler& onDatagram) override {
        // Every buffer goes back at the next wait(), whatever the handler does.
        for (const auto& p : pending_) {
            toRecycle_.push_back(p.bid);
        }
        struct Clear {
            std::vector<Pending>& v;
            ~Clear() { v.clear(); }
        } clear{pending_};
        for (int pass = 0; pass < 2; ++pass) {
            for (const auto& p : pending_) {
                const auto it = sources_.find(p.id);
                if (it == sources_.end() || it->second.last != (pass == 1)) {
                    continue;  // unwatched since, or the other pass
                }
                const std::uint8_t* slot = buffers_.slot(p.bid);
                auto* out = io_uring_recvmsg_validate(const_cast<std::uint8_t*>(slot), p.length,
                                                      &template_);
                if (out == nullptr) {
                    ++stats_.receiveErrors;
                    continue;
                }
                ReceivedDatagram d;
                d.tag = it->second.tag;
                const auto* payload =
                    static_cast<const std::uint8_t*>(io_uring_recvmsg_payload(out, &template_));
                d.data = {payload, io_uring_recvmsg_payload_length(out, p.length, &template_)};
                d.truncated = (out->flags & MSG_TRUNC) != 0;
                d.from = static_cast<const sockaddr*>(io_uring_recvmsg_name(out));
                d.fromLength = std::min<socklen_t>(out->namelen, kNameBytes);
                ++stats_.datagrams;
                stats_.truncated += d.truncated ? 1 : 0;
                onDatagram(d);
            }
        }
    }

    void send(std::span<SendJob> jobs, std::uint32_t dropEvery,
              std::uint64_t& dropCounter) override {
        sends_.clear();
        if (auto e = enableOnThisThread(); !e) {
            for (auto& job : jobs) {
                job.result = job.queue->flush(job.fd, dropEvery, dropCounter);
            }
            return;
        }
        outstanding_ = 0;
        for (std::size_t j = 0; j < jobs.size(); ++j) {
            auto& job = jobs[j];
            job.result = {};
            const std::size_t n = job.queue->prepare(dropEvery, dropCounter, job.result);
            for (std::size_t m = 0; m < n; ++m) {
                io_uring_sqe* sqe = sqeOrSubmit();
                if (sqe == nullptr) {
                    // No entry even after a submission: send this one directly.
                    const ssize_t rc = ::sendmsg(job.fd, job.queue->message(m), MSG_DONTWAIT);
                    job.queue->complete(job.fd, m, rc < 0 ? errno : 0, job.result);
                    continue;
                }
                // MSG_DONTWAIT: never park a send to wait for buffer space (the
                // payload may be released once send() returns); a full buffer
                // completes with EAGAIN, as sendmmsg reports it.
                const int slot = slotOf(job.fd);
                io_uring_prep_sendmsg(sqe, slot >= 0 ? slot : job.fd, job.queue->message(m),
                                      MSG_DONTWAIT);
                if (slot >= 0) {
                    sqe->flags |= IOSQE_FIXED_FILE;
                }
                io_uring_sqe_set_data64(sqe, userData(Op::Send, sends_.size()));
                sends_.push_back({j, m});
                ++outstanding_;
            }
        }
        // Non-blocking sends complete during the submission; wait for any
        // that did not, so that no payload is in the kernel's hands after return.
        for (int busy = 0; outstanding_ > 0;) {
            const int rc = outstanding_ == sends_.size() || io_uring_sq_ready(&ring_) > 0
                               ? io_uring_submit(&ring_)
                               : io_uring_submit_and_wait(&ring_, 1);
            ++stats_.submissions;
            reap(jobs);
            if (rc >= 0 || rc == -EINTR || rc == -ETIME) {
                continue;
            }
            if ((rc == -EBUSY || rc == -EAGAIN) && ++busy < kBusyRetries) {
                continue;  // completions went out of the way in reap(): try again
            }
            // The kernel takes no more entries: those not submitted become
            // no-ops (they must not reach it after their messages are gone)
            // and count as failed.
            neutralizeUnsubmitted();
            failOutstanding(jobs, -rc);
        }
        for (auto& job : jobs) {
            job.queue->finish();
        }
        sends_.clear();
    }

    void wake() const override {
        const std::uint64_t one = 1;
        // Fails only if the counter would overflow (a wake-up is then pending anyway).
        [[maybe_unused]] auto rc = ::write(wakeFd_.get(), &one, sizeof one);
    }

    [[nodiscard]] DatagramLoopStats stats() const override { return stats_; }

private:
    struct Source {
        int fd = -1;
        Tag tag = 0;
        bool last = false;
        int slot = -1;  ///< registered-file slot, or -1: by descriptor
    };
    /// A datagram reaped and not yet delivered: its source and buffer.
    struct Pending {
        std::uint64_t id = 0;
        std::uint16_t bid = 0;
        unsigned length = 0;
    };
    struct SendOp {
        std::size_t job = 0;
        std::size_t message = 0;
        bool done = false;
    };
    /// io_uring_enter refusals (EBUSY/EAGAIN: no room for completions) retried per send().
    static constexpr int kBusyRetries = 64;

    /// SINGLE_ISSUER binds the ring to the first thread that uses it: the
    /// ring is made disabled and enabled by the loop's thread.
    Result<void> enableOnThisThread() {
        if (!disabled_) {
            return {};
        }
        // io_uring_enable_rings() is declared but not exported by liburing 2.3.
        if (int rc = io_uring_register(ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
            rc < 0) {
            return fail(sysError("io_uring enable", -rc));
        }
        disabled_ = false;
        return {};
    }

    /// Puts @p fd in a free registered-file slot; -1 if none is free (or the
    /// kernel has no table), and the socket is used by descriptor.
    int registerFile(int fd) {
        if (freeSlots_.empty() || fd < 0) {
            return -1;
        }
        const int slot = freeSlots_.back();
        if (io_uring_register_files_update(&ring_, static_cast<unsigned>(slot), &fd, 1) != 1) {
            return -1;
        }
        freeSlots_.pop_back();
        ++stats_.registeredFiles;
        if (static_cast<std::size_t>(fd) >= slotOfFd_.size()) {
            slotOfFd_.resize(static_cast<std::size_t>(fd) + 1, -1);
        }
        slotOfFd_[static_cast<std::size_t>(fd)] = slot;
        return slot;
    }

    /// Empties @p slot, so that closing @p fd closes the socket (a receive
    /// still armed holds the file until its cancellation completes).
    void unregisterFile(int fd, int slot) {
        if (slot < 0) {
            return;
        }
        int none = -1;
        io_uring_register_files_update(&ring_, static_cast<unsigned>(slot), &none, 1);
        freeSlots_.push_back(slot);
        if (static_cast<std::size_t>(fd) < slotOfFd_.size()) {
            slotOfFd_[static_cast<std::size_t>(fd)] = -1;
        }
    }

    [[nodiscard]] int slotOf(int fd) const {
        return fd >= 0 && static_cast<std::size_t>(fd) < slotOfFd_.size()
                   ? slotOfFd_[static_cast<std::size_t>(fd)]
                   : -1;
    }

    /// A free submission entry, submitting what is queued first if the queue is full.
    io_uring_sqe* sqeOrSubmit() {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        if (sqe == nullptr) {
            io_uring_submit(&ring_);
            ++stats_.submissions;
            sqe = io_uring_get_sqe(&ring_);
        }
        return sqe;
    }

    void prepareArms() {
        for (const auto id : toCancel_) {
            io_uring_sqe* sqe = sqeOrSubmit();
            if (sqe == nullptr) {
                break;  // the request stays armed; its completions are dropped
            }
            io_uring_prep_cancel64(sqe, userData(Op::Receive, id), 0);
            io_uring_sqe_set_data64(sqe, userData(Op::Cancel, 0));
        }
        toCancel_.clear();
        // Ordinary sockets before those marked last, so that after a shortage
        // of buffers the sessions' sockets take theirs first.
        std::stable_partition(toArm_.begin(), toArm_.end(), [this](std::uint64_t id) {
            const auto it = sources_.find(id);
            return it != sources_.end() && !it->second.last;
        });
        std::size_t done = 0;
        for (; done < toArm_.size(); ++done) {
            const auto it = sources_.find(toArm_[done]);
            if (it == sources_.end()) {
                continue;  // unwatched before it was armed
            }
            io_uring_sqe* sqe = sqeOrSubmit();
            if (sqe == nullptr) {
                break;  // the rest at the next wait()
            }
            const int slot = it->second.slot;
            io_uring_prep_recvmsg_multishot(sqe, slot >= 0 ? slot : it->second.fd, &template_, 0);
            sqe->flags |= IOSQE_BUFFER_SELECT | (slot >= 0 ? IOSQE_FIXED_FILE : 0);
            sqe->buf_group = kBufferGroup;
            io_uring_sqe_set_data64(sqe, userData(Op::Receive, toArm_[done]));
        }
        toArm_.erase(toArm_.begin(), toArm_.begin() + static_cast<std::ptrdiff_t>(done));
    }

    /// Gives the buffers of delivered datagrams back to the kernel.
    void recycle() {
        if (toRecycle_.empty()) {
            return;
        }
        int offset = 0;
        for (const auto bid : toRecycle_) {
            buffers_.add(bid, offset++);
        }
        io_uring_buf_ring_advance(buffers_.ring, offset);
        toRecycle_.clear();
    }

    /// Takes every posted completion: datagrams into pending_, ends of
    /// receives into toArm_, and sends into @p jobs (during send()).
    void reap(std::span<SendJob> jobs = {}) {
        io_uring_cqe* cqe = nullptr;
        unsigned head = 0;
        unsigned seen = 0;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            ++seen;
            const std::uint64_t data = io_uring_cqe_get_data64(cqe);
            const std::uint64_t index = data & kIndexMask;
            switch (opOf(data)) {
                case Op::Receive: onReceive(index, cqe->res, cqe->flags); break;
                case Op::Send:
                    if (index < sends_.size() && !jobs.empty() && !sends_[index].done) {
                        auto& op = sends_[index];
                        auto& job = jobs[op.job];
                        job.queue->complete(job.fd, op.message, cqe->res < 0 ? -cqe->res : 0,
                                            job.result);
                        op.done = true;
                        --outstanding_;
                    }
                    break;
                case Op::Wake:
                    wakeArmed_ = false;
                    woken_ = true;
                    break;
                case Op::Cancel: break;
            }
        }
        io_uring_cq_advance(&ring_, seen);
    }

    void onReceive(std::uint64_t id, int res, unsigned flags) {
        const bool watched = sources_.contains(id);
        if ((flags & IORING_CQE_F_BUFFER) != 0) {
            const auto bid = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
            if (watched && res > 0) {
                pending_.push_back({id, bid, static_cast<unsigned>(res)});
            } else {
                toRecycle_.push_back(bid);
            }
        }
        if ((flags & IORING_CQE_F_MORE) != 0) {
            return;
        }
        // The request ended: out of buffers (the datagram waits in the socket),
        // the kernel's CQ overflowed, cancelled by unwatch(), or an error.
        if (res == -ENOBUFS) {
            ++stats_.bufferExhausted;
        } else if (res < 0 && res != -ECANCELED) {
            ++stats_.receiveErrors;
        }
        if (watched) {
            ++stats_.rearmed;
            toArm_.push_back(id);
        }
    }

    void failOutstanding(std::span<SendJob> jobs, int error) {
        for (auto& op : sends_) {
            if (!op.done) {
                auto& job = jobs[op.job];
                job.queue->complete(job.fd, op.message, error, job.result);
                op.done = true;
            }
        }
        outstanding_ = 0;
    }

    /// Turns the entries the kernel has not consumed into no-ops: those
    /// published to it (from its head) and those not yet published. liburing
    /// maps SQ slots to entries one to one.
    void neutralizeUnsubmitted() {
        for (unsigned i = io_uring_smp_load_acquire(ring_.sq.khead); i != ring_.sq.sqe_tail; ++i) {
            io_uring_sqe* sqe = &ring_.sq.sqes[i & ring_.sq.ring_mask];
            io_uring_prep_nop(sqe);
            io_uring_sqe_set_data64(sqe, userData(Op::Cancel, 0));
        }
    }

    io_uring ring_{};
    bool ringReady_ = false;
    bool disabled_ = false;
    BufferRing buffers_;
    msghdr template_ = receiveTemplate();
    Fd wakeFd_;
    std::uint64_t wakeValue_ = 0;
    bool wakeArmed_ = false;
    bool woken_ = false;
    std::unordered_map<std::uint64_t, Source> sources_;
    std::unordered_map<Tag, std::uint64_t> byTag_;
    std::vector<int> freeSlots_;  ///< registered-file slots not in use
    std::vector<int> slotOfFd_;   ///< by descriptor: its slot, or -1
    std::uint64_t nextId_ = 1;
    std::vector<std::uint64_t> toArm_;
    std::vector<std::uint64_t> toCancel_;
    std::vector<Pending> pending_;
    std::vector<std::uint16_t> toRecycle_;
    std::vector<SendOp> sends_;
    std::size_t outstanding_ = 0;
    DatagramLoopStats stats_;
};

}  // namespace

Result<std::unique_ptr<DatagramLoop>> makeUringLoop(UringLoopOptions options) {
    if (auto probe = probeMultishotReceive(); !probe) {
        return tl::unexpected(probe.error());
    }
    auto loop = std::make_unique<UringLoop>();
    if (auto r = loop->init(options); !r) {
        return tl::unexpected(r.error());
    }
    return std::unique_ptr<DatagramLoop>(std::move(loop));
}

}  // namespace pinet::io
