#include "io/sandbox/sandbox.h"

#include <linux/capability.h>
#include <linux/securebits.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <exception>

#include <fmt/format.h>

#include "io/fd.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {

constexpr std::array<int, 6> kKeepCaps = {CAP_CHOWN, CAP_FOWNER,       CAP_FSETID,
                                          CAP_MKNOD, CAP_DAC_OVERRIDE, CAP_SETFCAP};

Result<void> errnoFail(const char* what) {
    return fail(fmt::format("sandbox: {}: {}", what, std::strerror(errno)));
}

Result<void> dropCapabilities() {
    // Securebits first (needs CAP_SETPCAP): uid 0 gains nothing from exec.
    if (::prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                       SECBIT_NO_SETUID_FIXUP_LOCKED) != 0) {
        return errnoFail("PR_SET_SECUREBITS");
    }
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        bool keep = std::find(kKeepCaps.begin(), kKeepCaps.end(), cap) != kKeepCaps.end();
        if (!keep && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            return errnoFail("PR_CAPBSET_DROP");
        }
    }
    (void)::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, 2> data{};
    for (int cap : kKeepCaps) {
        auto& d = data[static_cast<std::size_t>(cap / 32)];
        std::uint32_t bit = 1U << (cap % 32);
        d.effective |= bit;
        d.permitted |= bit;
    }
    if (::syscall(SYS_capset, &hdr, data.data()) != 0) {
        return errnoFail("capset");
    }
    return {};
}

Result<void> installSeccomp() {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (ctx == nullptr) {
        return fail("sandbox: seccomp_init failed");
    }
    // File data and metadata beneath the chroot, memory, time, exit.
    static constexpr std::array kAllowed = {
        SCMP_SYS(read),
        SCMP_SYS(write),
        SCMP_SYS(pread64),
        SCMP_SYS(pwrite64),
        SCMP_SYS(readv),
        SCMP_SYS(writev),
        SCMP_SYS(lseek),
        SCMP_SYS(close),
        SCMP_SYS(openat),
        SCMP_SYS(open),
        SCMP_SYS(fstat),
        SCMP_SYS(newfstatat),
        SCMP_SYS(stat),
        SCMP_SYS(lstat),
        SCMP_SYS(statx),
        SCMP_SYS(mkdir),
        SCMP_SYS(mkdirat),
        SCMP_SYS(mknod),
        SCMP_SYS(mknodat),
        SCMP_SYS(symlink),
        SCMP_SYS(symlinkat),
        SCMP_SYS(link),
        SCMP_SYS(linkat),
        SCMP_SYS(chown),
        SCMP_SYS(lchown),
        SCMP_SYS(fchown),
        SCMP_SYS(fchownat),
        SCMP_SYS(chmod),
        SCMP_SYS(fchmod),
        SCMP_SYS(fchmodat),
        SCMP_SYS(utimensat),
        SCMP_SYS(setxattr),
        SCMP_SYS(lsetxattr),
        SCMP_SYS(fsetxattr),
        SCMP_SYS(ftruncate),
        SCMP_SYS(fsync),
        SCMP_SYS(fdatasync),
        SCMP_SYS(fcntl),
        SCMP_SYS(dup),
        SCMP_SYS(getdents64),
        SCMP_SYS(mmap),
        SCMP_SYS(munmap),
        SCMP_SYS(mremap),
        SCMP_SYS(mprotect),
        SCMP_SYS(brk),
        SCMP_SYS(madvise),
        SCMP_SYS(futex),
        SCMP_SYS(exit),
        SCMP_SYS(exit_group),
        SCMP_SYS(rt_sigreturn),
        SCMP_SYS(rt_sigprocmask),
        SCMP_SYS(sigaltstack),
        SCMP_SYS(getpid),
        SCMP_SYS(gettid),
        SCMP_SYS(getuid),
        SCMP_SYS(geteuid),
        SCMP_SYS(getgid),
        SCMP_SYS(getegid),
        SCMP_SYS(clock_gettime),
        SCMP_SYS(gettimeofday),
        SCMP_SYS(time),
        SCMP_SYS(getrandom),
        SCMP_SYS(uname),
        SCMP_SYS(getrlimit),
        SCMP_SYS(sched_yield),
        SCMP_SYS(readlink),
        SCMP_SYS(readlinkat),
        // Harmless, and what UBSan's vptr check uses to probe memory.
        SCMP_SYS(pipe),
        SCMP_SYS(pipe2),
    };
    int rc = 0;
    for (int nr : kAllowed) {
        if (nr >= 0 && rc == 0) {  // negative: no such call on this architecture
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        }
    }
    // Only about itself: abort() signals its own thread, glibc asks for limits.
    // (scmp_arg_cmp written out: the SCMP_A0 macros are C compound literals.)
    const std::array<scmp_arg_cmp, 1> self = {
        scmp_arg_cmp{0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid()), 0}};
    const std::array<scmp_arg_cmp, 2> ownLimits = {scmp_arg_cmp{0, SCMP_CMP_EQ, 0, 0},
                                                   scmp_arg_cmp{2, SCMP_CMP_EQ, 0, 0}};
    if (rc == 0) {
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, self.data());
    }
    if (rc == 0) {
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2, ownLimits.data());
    }
    if (rc == 0) {
        rc = seccomp_load(ctx);
    }
    seccomp_release(ctx);
    if (rc != 0) {
        return fail(fmt::format("sandbox: seccomp: {}", std::strerror(-rc)));
    }
    return {};
}

// Longest line the parent takes from the child: a progress or count line is
// under 100 bytes, an error message a few paths of at most 4096 bytes.
constexpr std::size_t kMaxLine = 64 * 1024;

std::string describeSignal(int sig) {
    const char* name = sigabbrev_np(sig);
    return name != nullptr ? fmt::format("SIG{}", name) : fmt::format("signal {}", sig);
}

}  // namespace

Result<void> SandboxChild::confine() {
    if (::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0) {
        return errnoFail("unshare");
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        return errnoFail("making mounts private");
    }
    if (::mount(root_.c_str(), root_.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        ::mount(nullptr, root_.c_str(), nullptr,
                MS_REMOUNT | MS_BIND | MS_NODEV | MS_NOSUID | MS_NOEXEC, nullptr) != 0) {
        return errnoFail(fmt::format("bind mount of {}", root_.string()).c_str());
    }
    if (::chroot(root_.c_str()) != 0 || ::chdir("/") != 0) {
        return errnoFail("chroot");
    }
    if (auto r = dropCapabilities(); !r) {
        return r;
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return errnoFail("PR_SET_NO_NEW_PRIVS");
    }
    return installSeccomp();
}

void SandboxChild::send(std::string_view line) {
    std::string s(line);
    for (char& c : s) {
        if (c == '\n') {
            c = ' ';
        }
    }
    s.push_back('\n');
    std::size_t done = 0;
    while (done < s.size()) {
        ssize_t n = ::write(fd_, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;  // the parent is gone; it will report that
        }
        done += static_cast<std::size_t>(n);
    }
}

Result<void> runSandboxed(const fs::path& root,
                          const std::function<Result<void>(SandboxChild&)>& work,
                          const std::function<void(std::string_view)>& receive,
                          std::chrono::milliseconds timeout, bool* timedOut) {
    if (timedOut != nullptr) {
        *timedOut = false;
    }
    std::array<int, 2> p{};
    if (::pipe2(p.data(), O_CLOEXEC) != 0) {
        return errnoFail("pipe");
    }
    Fd readEnd(p[0]);
    Fd writeEnd(p[1]);
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + timeout;
    pid_t pid = ::fork();
    if (pid < 0) {
        return errnoFail("fork");
    }
    if (pid == 0) {
        // The child: never returns into the caller (its destructors, such as
        // the import's temporary directory, belong to the parent).
        // Nothing the parent has open comes along (a directory descriptor
        // would lead out of the chroot): the pipe becomes fd 3, everything
        // above is closed, stdin and stdout become /dev/null; stderr stays
        // for sanitizer reports. The work opens what it reads itself.
        (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
        int pipeFd = writeEnd.get();
        if ((pipeFd != 3 && ::dup2(pipeFd, 3) < 0) ||
            ::syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
            ::_exit(2);
        }
        int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devNull >= 0) {
            (void)::dup2(devNull, 0);
            (void)::dup2(devNull, 1);
            ::close(devNull);
        }
        (void)readEnd.release();
        (void)writeEnd.release();
        SandboxChild child(root, 3);
        int code = 0;
        try {
            if (auto r = work(child); !r) {
                child.send("error " + r.error().message);
                code = 1;
            }
        } catch (const std::exception& e) {
            child.send(std::string("error ") + e.what());
            code = 1;
        }
        ::_exit(code);
    }
    writeEnd.reset();
    // Milliseconds left before the deadline for poll(): -1 without one.
    auto msLeft = [&]() -> int {
        if (timeout.count() <= 0) {
            return -1;
        }
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        return static_cast<int>(std::clamp<std::int64_t>(left, 0, 60'000));
    };
    auto expired = [&] {
        return timeout.count() > 0 && Clock::now() >= deadline;
    };
    // Kills the child (ours and not yet reaped, so the PID cannot be anyone
    // else's) and reaps it.
    auto killChild = [&](std::string why) -> Result<void> {
        (void)::kill(pid, SIGKILL);
        int st = 0;
        while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        return fail(std::move(why));
    };
    auto timeoutFail = [&] {
        if (timedOut != nullptr) {
            *timedOut = true;
        }
        auto secs = std::chrono::duration_cast<std::chrono::duration<double>>(timeout).count();
        return killChild(fmt::format("the reader did not finish within {:g} s", secs));
    };
    std::string pending;
    std::string error;
    std::array<char, 4096> buf{};
    while (true) {
        pollfd pfd{readEnd.get(), POLLIN, 0};
        int ready = ::poll(&pfd, 1, msLeft());
        if (ready < 0 && errno != EINTR) {
            return killChild(fmt::format("sandbox: poll: {}", std::strerror(errno)));
        }
        if (ready <= 0) {
            if (expired()) {
                return timeoutFail();
            }
            continue;
        }
        ssize_t n = ::read(readEnd.get(), buf.data(), buf.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        pending.append(buf.data(), static_cast<std::size_t>(n));
        std::size_t nl = 0;
        while ((nl = pending.find('\n')) != std::string::npos) {
            std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            if (line.rfind("error ", 0) == 0) {
                error = line.substr(6);
            } else if (receive) {
                receive(line);
            }
        }
        if (pending.size() > kMaxLine) {
            return killChild(
                fmt::format("the reader sent a line longer than {} bytes (killed)", kMaxLine));
        }
        if (expired()) {
            return timeoutFail();
        }
    }
    // The pipe is closed: the child is exiting, or closed it and goes on
    // (only a misbehaving one does). Waited for within the same deadline.
    int status = 0;
    while (true) {
        pid_t got = ::waitpid(pid, &status, timeout.count() > 0 ? WNOHANG : 0);
        if (got == pid) {
            break;
        }
        if (got < 0 && errno != EINTR) {
            return errnoFail("waitpid");
        }
        if (got == 0) {
            if (expired()) {
                return timeoutFail();
            }
            timespec pause{0, 10'000'000};  // 10 ms: how late a kill may come
            (void)::nanosleep(&pause, nullptr);
        }
    }
    if (WIFSIGNALED(status)) {
        return fail(
            fmt::format("the extraction process was killed by {}{} (a crafted or corrupt "
                        "image?)",
                        describeSignal(WTERMSIG(status)), error.empty() ? "" : " after: " + error));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return fail(error.empty() ? fmt::format("the extraction process exited with status {}",
                                                WEXITSTATUS(status))
                                  : error);
    }
    return {};
}

}  // namespace pinet::io
