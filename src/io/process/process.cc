#include "io/process/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>

#include "io/fd.h"

namespace pinet::io {

bool programExists(const std::string& name) {
    if (name.find('/') != std::string::npos) {
        return ::access(name.c_str(), X_OK) == 0;
    }
    const char* path = std::getenv("PATH");
    std::string p = path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
    std::size_t start = 0;
    while (start <= p.size()) {
        auto end = p.find(':', start);
        std::string dir =
            p.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) {
            return true;
        }
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    return false;
}

Result<ProcessOutput> runProcess(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout) {
    if (argv.empty()) {
        return fail("runProcess: empty command");
    }
    std::array<int, 2> outPipe{};
    std::array<int, 2> errPipe{};
    if (::pipe2(outPipe.data(), O_CLOEXEC) != 0) {
        return fail(fmt::format("pipe: {}", std::strerror(errno)));
    }
    Fd outR(outPipe[0]);
    Fd outW(outPipe[1]);
    if (::pipe2(errPipe.data(), O_CLOEXEC) != 0) {
        return fail(fmt::format("pipe: {}", std::strerror(errno)));
    }
    Fd errR(errPipe[0]);
    Fd errW(errPipe[1]);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        return fail(fmt::format("fork: {}", std::strerror(errno)));
    }
    if (pid == 0) {
        ::dup2(outW.get(), 1);
        ::dup2(errW.get(), 2);
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            ::dup2(devnull, 0);
        }
        ::execvp(args[0], args.data());
        std::string msg = fmt::format("cannot run {}: {}\n", argv[0], std::strerror(errno));
        (void)!::write(2, msg.data(), msg.size());
        ::_exit(127);
    }
    outW.reset();
    errW.reset();
    ProcessOutput res;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool outOpen = true;
    bool errOpen = true;
    bool timedOut = false;
    std::array<char, 4096> buf{};
    while (outOpen || errOpen) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timedOut = true;
            break;
        }
        std::array<pollfd, 2> pfd = {pollfd{outOpen ? outR.get() : -1, POLLIN, 0},
                                     pollfd{errOpen ? errR.get() : -1, POLLIN, 0}};
        int n = ::poll(pfd.data(), pfd.size(), static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) {
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                continue;
            }
            ssize_t r = ::read(pfd[i].fd, buf.data(), buf.size());
            if (r <= 0) {
                (i == 0 ? outOpen : errOpen) = false;
            } else {
                (i == 0 ? res.out : res.err).append(buf.data(), static_cast<std::size_t>(r));
            }
        }
    }
    if (timedOut) {
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timedOut) {
        return fail(
            fmt::format("{} did not finish within {} ms (killed)", argv[0], timeout.count()));
    }
    res.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return res;
}

}  // namespace pinet::io

namespace pinet::io {

namespace {

Result<int> spawnDetachedImpl(const std::vector<std::string>& argv, const std::string& logFile,
                              int listenFd) {
    if (argv.empty()) {
        return fail("spawnDetached: empty command");
    }
    Fd log(::open(logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!log) {
        return fail(fmt::format("{}: cannot open log: {}", logFile, std::strerror(errno)));
    }
    std::array<int, 2> errPipe{};  // exec failure report from the child
    if (::pipe2(errPipe.data(), O_CLOEXEC) != 0) {
        return fail(fmt::format("pipe: {}", std::strerror(errno)));
    }
    Fd errR(errPipe[0]);
    Fd errW(errPipe[1]);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        return fail(fmt::format("fork: {}", std::strerror(errno)));
    }
    if (pid == 0) {
        ::setsid();
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            ::dup2(devnull, 0);
        }
        ::dup2(log.get(), 1);
        ::dup2(log.get(), 2);
        if (listenFd >= 0) {
            // sd_listen_fds(3): the first passed descriptor is 3; dup2 clears CLOEXEC.
            constexpr int kFirstListenFd = 3;
            if (listenFd != kFirstListenFd) {
                ::dup2(listenFd, kFirstListenFd);
            } else {
                ::fcntl(kFirstListenFd, F_SETFD, 0);
            }
            char pidText[24];
            std::snprintf(pidText, sizeof(pidText), "%d", static_cast<int>(::getpid()));
            ::setenv("LISTEN_PID", pidText, 1);
            ::setenv("LISTEN_FDS", "1", 1);
            ::unsetenv("LISTEN_FDNAMES");
        }
        ::execvp(args[0], args.data());
        int e = errno;
        (void)!::write(errW.get(), &e, sizeof(e));
        ::_exit(127);
    }
    errW.reset();
    int childErr = 0;
    ssize_t n = ::read(errR.get(), &childErr, sizeof(childErr));
    if (n == static_cast<ssize_t>(sizeof(childErr))) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        return fail(fmt::format("cannot run {}: {}", argv[0], std::strerror(childErr)));
    }
    return static_cast<int>(pid);
}

}  // namespace

Result<int> spawnDetached(const std::vector<std::string>& argv, const std::string& logFile) {
    return spawnDetachedImpl(argv, logFile, -1);
}

Result<int> spawnDetachedWithListener(const std::vector<std::string>& argv,
                                      const std::string& logFile, int listenFd) {
    if (listenFd < 0) {
        return fail("spawnDetachedWithListener: no socket");
    }
    return spawnDetachedImpl(argv, logFile, listenFd);
}

bool processAlive(int pid) {
    return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

namespace {

/// /proc/PID/stat's state field (after the ')' that ends the command name) is Z or X.
bool isZombie(int pid) {
    Fd fd(::open(fmt::format("/proc/{}/stat", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return false;
    }
    std::array<char, 512> buf{};
    ssize_t n = ::read(fd.get(), buf.data(), buf.size() - 1);
    if (n <= 0) {
        return false;
    }
    std::string_view text(buf.data(), static_cast<std::size_t>(n));
    auto close = text.rfind(')');
    if (close == std::string_view::npos || close + 2 >= text.size()) {
        return false;
    }
    char state = text[close + 2];
    return state == 'Z' || state == 'X';
}

}  // namespace

std::vector<std::string> processArguments(int pid) {
    std::vector<std::string> out;
    Fd fd(::open(fmt::format("/proc/{}/cmdline", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return out;
    }
    std::string text;
    std::array<char, 4096> buf{};
    // ARG_MAX bounds a command line; 1 MiB is far beyond any qemu-nbd's.
    constexpr std::size_t kMaxCmdline = 1U << 20;
    while (text.size() < kMaxCmdline) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        text.append(buf.data(), static_cast<std::size_t>(n));
    }
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\0', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

bool terminateProcess(int pid, std::chrono::milliseconds grace) {
    if (pid <= 1) {
        return false;
    }
    auto gone = [pid] {
        // A child of ours is a zombie until reaped; anyone else's waits for its
        // parent (often init, which may be slow to reap): a zombie has exited.
        (void)::waitpid(pid, nullptr, WNOHANG);
        return !processAlive(pid) || isZombie(pid);
    };
    ::kill(pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (!gone() && std::chrono::steady_clock::now() < deadline) {
        ::poll(nullptr, 0, 20);
    }
    if (!gone()) {
        ::kill(pid, SIGKILL);
        for (int i = 0; i < 50 && !gone(); ++i) {
            ::poll(nullptr, 0, 20);
        }
    }
    return gone();
}

}  // namespace pinet::io
