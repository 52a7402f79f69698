#pragma once
// The HTTP-boot request path: which file beneath the boot root a GET from the
// boot LAN may name. Pure, so the rule is fuzzed (fuzz/fuzz_http_boot_path.cc)
// and tested below the sockets; app/http/http_boot.cc opens what it allows.

#include <string>

namespace pinet::core::http {

/// Splits "/a/b/boot.img" into prefix "a/b" and name "boot.img". The path goes
/// through core::tftp::sanitizePath (TFTP's rules: no "..", no control bytes;
/// "//" and "." dropped); then it returns false unless the name is boot.img or
/// boot.sig and every prefix component is a plain name ([A-Za-z0-9._-]). Pure;
/// exposed for tests. Symlinks are confined when the file is opened (openBeneath).
bool parseBootPath(const std::string& path, std::string& prefix, std::string& name);

}  // namespace pinet::core::http
