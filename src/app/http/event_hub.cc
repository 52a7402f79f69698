#include "app/http/event_hub.h"

#include <algorithm>

namespace pinet::app::http {

std::optional<std::string> EventHub::Subscriber::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return closed_ || !queue_.empty(); });
    if (!queue_.empty()) {
        auto msg = std::move(queue_.front());
        queue_.pop_front();
        return msg;
    }
    if (closed_) {
        return std::string();
    }
    return std::nullopt;
}

bool EventHub::Subscriber::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

std::shared_ptr<EventHub::Subscriber> EventHub::subscribe() {
    std::lock_guard lock(mutex_);
    if (subs_.size() >= kMaxSubscribers) {
        return nullptr;
    }
    subs_.push_back(std::make_shared<Subscriber>());
    return subs_.back();
}

void EventHub::unsubscribe(const std::shared_ptr<Subscriber>& s) {
    std::lock_guard lock(mutex_);
    std::erase(subs_, s);
}

void EventHub::publish(const std::string& event, const std::string& data) {
    const std::string msg = "event: " + event + "\ndata: " + data + "\n\n";
    std::lock_guard lock(mutex_);
    ++published_;
    for (auto it = subs_.begin(); it != subs_.end();) {
        auto& s = **it;
        bool drop = false;
        {
            std::lock_guard sl(s.mutex_);
            if (s.queue_.size() >= kQueueLimit) {
                s.closed_ = true;
                s.queue_.clear();
                drop = true;
            } else {
                s.queue_.push_back(msg);
            }
        }
        s.cv_.notify_one();
        if (drop) {
            ++dropped_;
            it = subs_.erase(it);
        } else {
            ++it;
        }
    }
}

void EventHub::closeAll() {
    std::lock_guard lock(mutex_);
    for (auto& s : subs_) {
        {
            std::lock_guard sl(s->mutex_);
            s->closed_ = true;
        }
        s->cv_.notify_all();
    }
    subs_.clear();
}

std::size_t EventHub::subscriberCount() const {
    std::lock_guard lock(mutex_);
    return subs_.size();
}

std::uint64_t EventHub::droppedSubscribers() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

std::uint64_t EventHub::published() const {
    std::lock_guard lock(mutex_);
    return published_;
}

}  // namespace pinet::app::http
