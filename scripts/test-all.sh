#!/usr/bin/env bash
# test-all.sh - install what is needed, build, and run every test:
#   1. the normal build (build/): unit tests, fuzz-corpus replays, integration
#      tests with real peers in network namespaces the tests create;
#   2. the ASan + UBSan build (build-asan/): unit tests, corpus replays and the
#      in-process integration tests (TFTP server on real sockets, web API, the
#      eeprom CLI through an ASan pinetboot);
#   3. the libFuzzer build (build-fuzz/): a bounded fuzz run of every target.
# Must run as root on Debian 12 (network namespaces, apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
stage() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }

stage "setup"
./scripts/setup.sh

stage "style: clang-format, clang-tidy"
./scripts/format.sh --check

stage "build (default)"
./scripts/build.sh default
./scripts/tidy.sh build
stage "unit tests"
ctest --test-dir build -L unit --output-on-failure -j "$(nproc)" --timeout 300
stage "integration tests"
ctest --test-dir build -L integration --output-on-failure -j 1

stage "build (asan)"
./scripts/build.sh asan
stage "unit tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L unit --output-on-failure -j "$(nproc)" --timeout 600
stage "in-process integration tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L integration --output-on-failure -j 1 --timeout 600

stage "build (fuzz)"
./scripts/build.sh fuzz
stage "fuzzing"
./scripts/fuzz-run.sh "${PINET_FUZZ_SECONDS:-30}"

stage "all tests passed"
