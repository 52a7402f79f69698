#pragma once
// A UDP client socket on 127.0.0.1 for the in-process server tests (a new
// port per instance, as the Pi uses a new one per RRQ).

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "io/fd.h"

namespace pinet::test {

class UdpClient {
public:
    UdpClient();
    /// Sends @p bytes to 127.0.0.1:@p port (a test failure if it cannot).
    void sendTo(std::uint16_t port, const std::vector<std::uint8_t>& bytes);
    /// Next datagram within @p wait, with the port it came from; empty if none.
    std::optional<std::pair<std::vector<std::uint8_t>, std::uint16_t>> receive(
        std::chrono::milliseconds wait);

private:
    io::Fd fd_;
};

}  // namespace pinet::test
