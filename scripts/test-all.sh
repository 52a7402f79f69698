#!/usr/bin/env bash
# test-all.sh - install what is needed, build, and run every test:
#   1. the programs (build/, g++ -O2: pinetboot, its man pages, bench/tftp_load)
#      and the shell integration tests with real peers in network namespaces
#      the tests create (timing-sensitive storms need the optimised build);
#   2. the ASan + UBSan build (build-asan/, clang-14): every unit test and
#      corpus replay, the in-process integration tests (TFTP server on real
#      sockets, web API, the eeprom CLI through an ASan pinetboot), and a
#      bounded libFuzzer run of every target, linked from the same objects.
# The unit tests run once, under the sanitizers: a plain -O2 run of them would
# check nothing more and cost a second compile of every test (CI: 2 cores, a
# cold cache, 30 minutes).
# Must run as root on Debian 12 (network namespaces, apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
stage() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }

stage "setup"
./scripts/setup.sh
# The package test's Debian root (debootstrap: ~90 s, mostly waiting on the
# mirror) is made in the background while the compilers run.
mkdir -p build/deb-cache
# Each background job runs in a process group of its own (setsid), so that stopping it
# stops what it started too (ninja, the compilers), by its PID.
setsid tests/integration/lib/bookworm_root.sh build/deb-cache >build/deb-cache/make.log 2>&1 &
root_pid=$!
tidy_pid="" asan_pid=""
# Ours to stop if a stage fails (by process group, never by name; a job that already
# ended has nothing to stop, hence the || true).
stop_jobs() {
    local pid
    for pid in $root_pid $tidy_pid $asan_pid; do kill -- "-$pid" 2>/dev/null || true; done
}
trap stop_jobs EXIT

stage "style: clang-format"
./scripts/format.sh --check

stage "build (programs)"
./scripts/build.sh programs

stage "shell integration tests; clang-tidy and the asan build alongside at idle priority"
# The shell tests spend much of their time waiting (timeouts, peers, the
# mirror), so clang-tidy and the ASan build take the idle CPU meanwhile, under
# SCHED_IDLE and the idle I/O class: they get a core only when no test wants it
# (CI: 2 cores, 30 minutes). Their output is shown when each is collected.
setsid chrt --idle 0 ionice -c 3 ./scripts/tidy.sh build >build/tidy.log 2>&1 &
tidy_pid=$!
setsid chrt --idle 0 ionice -c 3 ./scripts/build.sh asan >build/asan-build.log 2>&1 &
asan_pid=$!
# A failed root is not fatal here: deb_package tries again itself and fails
# with the reason if it cannot.
wait "$root_pid" || { echo "test-all: the bookworm root failed in the background:"; cat build/deb-cache/make.log; }
root_pid=""
ctest --test-dir build -L integration -R '^integration\.' --output-on-failure -j 1

stage "clang-tidy (collected)"
wait "$tidy_pid" || { cat build/tidy.log; echo "test-all: clang-tidy failed" >&2; exit 1; }
tidy_pid=""
cat build/tidy.log
stage "build (asan + fuzz, collected)"
wait "$asan_pid" || { tail -60 build/asan-build.log; echo "test-all: the asan build failed" >&2; exit 1; }
asan_pid=""
tail -1 build/asan-build.log
stage "unit tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L unit --output-on-failure -j "$(nproc)" --timeout 600
stage "in-process integration tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L integration --output-on-failure -j 1 --timeout 600

stage "fuzzing"
# CI's short run: 10 s per target (the EEPROM parser keeps its 60 s, see
# fuzz-run.sh), about 100 s of wall clock on 2 cores. The corpus replays ran as
# ctests above; long campaigns are bench/fuzz-campaign.sh (docs/security.md).
PINET_FUZZ_DIR=build-asan/fuzz ./scripts/fuzz-run.sh "${PINET_FUZZ_SECONDS:-10}"

stage "all tests passed"
