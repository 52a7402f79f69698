#!/usr/bin/env bash
# build.sh [PRESET] - configure and build one preset: default (build/, all),
# programs (build/, only what the shell integration tests run: pinetboot, its
# man pages and completions, bench/tftp_load), asan (build-asan/, clang: unit
# tests, corpus replays and the in-process integration tests with an ASan
# pinetboot, and the libFuzzer targets from the same objects) or fuzz
# (build-fuzz/, the libFuzzer targets at -O2 for long campaigns).
# `cmake --build build-asan` builds everything there.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-default}
# test-all.sh builds only what it runs from each tree (CI has 2 cores and a
# cold cache): the programs in build/, the tests and fuzzers in build-asan/.
targets=()
case "$preset" in
    default) dir=build ;;
    programs) dir=build; preset=default; targets=(--target pinetboot pinetboot_docs tftp_load) ;;
    asan) dir=build-asan; targets=(--target pinet_unit_tests pinet_integration_tests pinet_fuzz_targets) ;;
    fuzz) dir=build-fuzz; targets=(--target pinet_fuzz_targets) ;;
    *) echo "build.sh: unknown preset $preset" >&2; exit 2 ;;
esac
cmake --preset "$preset" >/dev/null
cmake --build "$dir" -j "${PINET_JOBS:-$(nproc)}" "${targets[@]}"
