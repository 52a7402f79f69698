// The epoll loop (io::DatagramLoop's first backend) and the choice between the
// two. The io_uring loop is in uring_loop.cc.

#include "io/net/datagram_loop.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "io/net/event_loop.h"

namespace pinet::io {

const char* toString(LoopBackend b) {
    return b == LoopBackend::Uring ? "io_uring" : "epoll";
}

namespace {

/// recvmmsg calls per socket per turn: drains a busy socket, but bounded so
/// one socket cannot starve the timers and the others (16 x 64 datagrams).
constexpr int kReceiveRounds = 16;

class EpollLoop final : public DatagramLoop {
public:
    explicit EpollLoop(EventLoop loop) : loop_(std::move(loop)) {}

    [[nodiscard]] LoopBackend backend() const override { return LoopBackend::Epoll; }

    Result<void> watch(int fd, Tag tag, bool last) override {
        if (auto w = loop_.watch(fd, tag); !w) {
            return w;
        }
        sources_[tag] = Source{fd, last};
        return {};
    }

    void unwatch(Tag tag) override {
        // Closing the socket removes it from the epoll set (it is not shared),
        // which saves the EPOLL_CTL_DEL per transfer; a readiness already
        // reported for it is skipped by tag.
        sources_.erase(tag);
    }

    Result<Turn> wait(std::optional<Clock::time_point> deadline) override {
        ready_.clear();
        auto r = loop_.wait(deadline);
        if (!r) {
            return tl::unexpected(r.error());
        }
        ready_.assign(r->tags.begin(), r->tags.end());
        return Turn{r->woken, r->interrupted};
    }

    void deliver(const Handler& onDatagram) override {
        // Ordinary sockets first, then those marked last, each in the kernel's order.
        for (int pass = 0; pass < 2; ++pass) {
            for (const Tag tag : ready_) {
                const auto it = sources_.find(tag);
                if (it == sources_.end() || it->second.last != (pass == 1)) {
                    continue;  // unwatched since epoll reported it, or the other pass
                }
                receiveFrom(tag, it->second.fd, onDatagram);
            }
        }
        ready_.clear();
    }

    void send(std::span<SendJob> jobs, std::uint32_t dropEvery,
              std::uint64_t& dropCounter) override {
        for (auto& job : jobs) {
            job.result = job.queue->flush(job.fd, dropEvery, dropCounter);
        }
    }

    void wake() const override { loop_.wake(); }

    [[nodiscard]] DatagramLoopStats stats() const override { return stats_; }

private:
    struct Source {
        int fd = -1;
        bool last = false;
    };

    void receiveFrom(Tag tag, int fd, const Handler& onDatagram) {
        for (int round = 0; round < kReceiveRounds; ++round) {
            const int got = recv_.receive(fd);
            if (got < 0) {
                ++stats_.receiveErrors;
            }
            if (got <= 0) {
                return;
            }
            for (unsigned k = 0; k < static_cast<unsigned>(got); ++k) {
                ReceivedDatagram d;
                d.tag = tag;
                d.data = recv_.data(k);
                d.truncated = recv_.truncated(k);
                d.from = recv_.address(k);
                d.fromLength = recv_.addressLength(k);
                ++stats_.datagrams;
                stats_.truncated += d.truncated ? 1 : 0;
                onDatagram(d);
            }
            if (got < static_cast<int>(RecvBatch::kSlots)) {
                return;
            }
        }
    }

    EventLoop loop_;
    std::unordered_map<Tag, Source> sources_;
    std::vector<Tag> ready_;
    RecvBatch recv_;
    DatagramLoopStats stats_;
};

}  // namespace

Result<std::unique_ptr<DatagramLoop>> makeEpollLoop() {
    auto loop = EventLoop::create();
    if (!loop) {
        return tl::unexpected(loop.error());
    }
    return std::unique_ptr<DatagramLoop>(std::make_unique<EpollLoop>(std::move(*loop)));
}

Result<std::unique_ptr<DatagramLoop>> makeDatagramLoop(LoopChoice choice,
                                                       std::string* fallbackReason) {
    if (choice == LoopChoice::Epoll) {
        return makeEpollLoop();
    }
    auto uring = makeUringLoop();
    if (uring || choice == LoopChoice::Uring) {
        return uring;
    }
    if (fallbackReason != nullptr) {
        *fallbackReason = uring.error().message;
    }
    return makeEpollLoop();
}

}  // namespace pinet::io
