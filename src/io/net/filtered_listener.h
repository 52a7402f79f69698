#pragma once
// A TCP listening socket that only one address (or subnet) can connect to,
// enforced by the kernel: a classic BPF socket filter (SO_ATTACH_FILTER) on
// the listener drops every segment, the SYN included, whose IPv4 source is
// not the allowed one, so a stranger's connection never completes (its
// connect() times out). The accepted sockets inherit the filter. Used for
// the NBD exports (app/nbd): qemu-nbd has no address access control of its own.

#include <cstdint>
#include <string>

#include "io/fd.h"
#include "proto/error.h"

namespace pinet::io {

/// Listens on @p bindIp:@p port (IPv4) for connections from @p allowed only,
/// "A.B.C.D" or "A.B.C.D/N". The socket is not close-on-exec-safe to pass on:
/// it is opened with SOCK_CLOEXEC and the spawner clears that for its child.
Result<Fd> listenTcpOnlyFrom(const std::string& bindIp, std::uint16_t port,
                             const std::string& allowed);

}  // namespace pinet::io
