#pragma once
// Fan-out of live events to server-sent-event subscribers (the dashboard).
//
// publish() never blocks on a subscriber: each subscriber has a bounded queue
// (kQueueLimit); a subscriber whose queue is full is too slow (a stalled tab,
// a dead TCP peer) and is dropped: its stream ends and EventSource reconnects,
// then re-reads state from the JSON API. Memory is bounded by
// kMaxSubscribers x kQueueLimit messages.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pinet::app::http {

class EventHub {
public:
    /// 256 events is minutes of a busy boot LAN on a dashboard that reads them at once.
    static constexpr std::size_t kQueueLimit = 256;
    /// Each SSE stream holds one HTTP worker thread.
    static constexpr std::size_t kMaxSubscribers = 16;

    class Subscriber {
    public:
        /// Waits up to @p timeout for the next message ("event: x\ndata: {...}\n\n").
        /// nullopt on timeout; std::string{} once closed or dropped.
        std::optional<std::string> next(std::chrono::milliseconds timeout);
        bool closed() const;

    private:
        friend class EventHub;
        mutable std::mutex mutex_;
        std::condition_variable cv_;
        std::deque<std::string> queue_;
        bool closed_ = false;
    };

    /// nullptr when kMaxSubscribers are already connected.
    std::shared_ptr<Subscriber> subscribe();
    void unsubscribe(const std::shared_ptr<Subscriber>& s);

    /// Queues an SSE message with event name @p event and one-line JSON @p data.
    void publish(const std::string& event, const std::string& data);

    /// Ends every stream (shutdown).
    void closeAll();

    std::size_t subscriberCount() const;
    std::uint64_t droppedSubscribers() const;
    std::uint64_t published() const;

private:
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<Subscriber>> subs_;
    std::uint64_t dropped_ = 0;
    std::uint64_t published_ = 0;
};

}  // namespace pinet::app::http
