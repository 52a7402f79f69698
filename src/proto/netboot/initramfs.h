#pragma once
// What an initramfs holds, for doctor's NBD-root check: the member names of
// the cpio "newc" archives (magic 070701, or 070702 with checksums) that an
// initramfs is, one after another, once decompressed. Only names are read.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::netboot {

/// Member names of the concatenated newc archives in @p data (each ends with
/// its TRAILER!!! entry; zero padding between archives is skipped). Stops at
/// the first byte that starts no header: a compressed archive after an
/// uncompressed one is not read. Fails on a header that runs past the data.
Result<std::vector<std::string>> cpioNames(std::span<const std::uint8_t> data);

/// The initramfs can mount an NBD root the Debian way: it holds the nbd-client
/// program and the initramfs-tools script that runs it (scripts/local-top/nbd,
/// from Debian's nbd-client package).
struct NbdInitramfs {
    bool client = false;  ///< sbin/nbd-client (or usr/sbin/nbd-client)
    bool script = false;  ///< scripts/local-top/nbd
};
NbdInitramfs nbdSupport(const std::vector<std::string>& names);

}  // namespace pinet::proto::netboot
