#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal.

#include <cstdint>
#include <string>

namespace pinet::cli {

class ProgressBar {
public:
    ProgressBar();
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    void update(const std::string& stage, std::uint64_t done, std::uint64_t total);
    void finish();

private:
    bool tty_ = false;
    bool drawn_ = false;
    std::string stage_;
    int lastPermille_ = -1;
};

}  // namespace pinet::cli
