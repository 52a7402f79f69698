#pragma once
// A forked child that parses untrusted input confined, so that a bug in a
// C library it calls (libext2fs, the FAT reader) is not a root exploit
// (issue #13 item 2). The child stays uid 0, because it must give the files
// it writes their owners, modes, device numbers and capabilities, but after
// confine() it
//  - has its own mount, network, IPC and UTS namespaces;
//  - sees only the directory it writes (chroot onto a bind mount of it with
//    nodev, nosuid and noexec: a device node it creates cannot be opened);
//  - keeps only CAP_CHOWN, CAP_FOWNER, CAP_FSETID, CAP_DAC_OVERRIDE,
//    CAP_MKNOD and CAP_SETFCAP (bounding set too; SECBIT_NOROOT locked);
//  - has PR_SET_NO_NEW_PRIVS and a seccomp allow-list of file and memory
//    system calls: no exec, fork, kill, ptrace, mount, socket or ioctl.
// It talks to the parent over a pipe in lines of text. The parent can give
// it a deadline: a child stuck in a loop of a C library (a crafted image) is
// then killed instead of holding the parent for ever.

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "proto/error.h"

namespace pinet::io {

class SandboxChild {
public:
    /// Confines this process to @p root_ (see above). Open what you need
    /// outside it (the image) before calling.
    Result<void> confine();
    /// Sends one line to the parent (newlines inside become spaces).
    void send(std::string_view line);

private:
    friend Result<void> runSandboxed(const std::filesystem::path&,
                                     const std::function<Result<void>(SandboxChild&)>&,
                                     const std::function<void(std::string_view)>&,
                                     std::chrono::milliseconds, bool*);
    SandboxChild(std::filesystem::path root, int fd) : root_(std::move(root)), fd_(fd) {}
    std::filesystem::path root_;
    int fd_;
};

/// Runs @p work in a forked child that may confine itself to @p root, and
/// waits for it. The child inherits no descriptor but stdio (stdin and
/// stdout on /dev/null) and the pipe: @p work opens its input itself, before
/// confine(). Each line it sends reaches @p receive in the parent. Fails
/// with the child's error, or with the signal that killed it; the caller
/// removes what it left in @p root.
/// With a @p timeout above zero the child that has not exited that long
/// after the fork (time in @p receive included) is killed with SIGKILL and
/// reaped, and the run fails with "the reader did not finish within N s";
/// @p timedOut, if given, tells that case apart. A line longer than 64 KiB
/// (no honest child sends one) also kills the child: the parent's memory is
/// not the child's to fill.
Result<void> runSandboxed(const std::filesystem::path& root,
                          const std::function<Result<void>(SandboxChild&)>& work,
                          const std::function<void(std::string_view line)>& receive,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds{0},
                          bool* timedOut = nullptr);

}  // namespace pinet::io
