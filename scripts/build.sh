#!/usr/bin/env bash
# build.sh [PRESET] - configure and build one preset: default (build/, all),
# asan (build-asan/, unit tests, corpus replays and the in-process integration
# tests with an ASan pinetboot) or fuzz (build-fuzz/, the
# libFuzzer targets). `cmake --build build-asan` builds everything there.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-default}
# The sanitizer and fuzz presets build only what test-all.sh runs from them
# (CI has 2 cores): the unit tests, corpus replays and C++ integration tests, or
# the fuzzers.
targets=()
case "$preset" in
    default) dir=build ;;
    asan) dir=build-asan; targets=(--target pinet_unit_tests pinet_integration_tests pinet_fuzz_targets) ;;
    fuzz) dir=build-fuzz; targets=(--target pinet_fuzz_targets) ;;
    *) echo "build.sh: unknown preset $preset" >&2; exit 2 ;;
esac
cmake --preset "$preset" >/dev/null
cmake --build "$dir" -j "${PINET_JOBS:-$(nproc)}" "${targets[@]}"
