#pragma once
// Running helper programs (exportfs, ganesha.nfsd, ip) without a shell:
// arguments are passed as a vector, output is captured, and every run is
// bounded by a timeout after which the child is killed.

#include <chrono>
#include <string>
#include <vector>

#include "proto/error.h"

namespace pinet::io {

struct ProcessOutput {
    int exitCode = -1;  ///< exit status, or 128 + signal number
    std::string out;
    std::string err;
};

/// Runs @p argv (argv[0] looked up in PATH). Fails only if the program
/// cannot be started or exceeds @p timeout; a non-zero exit is a value.
Result<ProcessOutput> runProcess(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// True if @p name is an executable in PATH (or an executable path).
bool programExists(const std::string& name);

}  // namespace pinet::io

namespace pinet::io {

/// Starts @p argv as a daemon of its own (new session, stdin /dev/null,
/// stdout+stderr appended to @p logFile) and returns its PID without waiting.
Result<int> spawnDetached(const std::vector<std::string>& argv, const std::string& logFile);

/// spawnDetached, handing @p listenFd to the child as systemd socket
/// activation does (fd 3, LISTEN_FDS=1, LISTEN_PID=the child's PID), which
/// qemu-nbd accepts in place of its own listening socket. The environment is
/// otherwise the caller's.
Result<int> spawnDetachedWithListener(const std::vector<std::string>& argv,
                                      const std::string& logFile, int listenFd);

/// True if @p pid names a live process (kill(pid, 0)).
bool processAlive(int pid);

/// The arguments of process @p pid (/proc/PID/cmdline); empty if it is gone
/// or unreadable. /proc files report size 0, so this reads to the end.
std::vector<std::string> processArguments(int pid);

/// SIGTERM to @p pid, then SIGKILL if it is still alive after @p grace; a
/// child of this process is reaped. True once it is gone.
bool terminateProcess(int pid, std::chrono::milliseconds grace);

}  // namespace pinet::io
