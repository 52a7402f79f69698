#!/usr/bin/env bash
# fuzz-run.sh [SECONDS] - run every libFuzzer target in $PINET_FUZZ_DIR
# (default build-fuzz/fuzz; test-all.sh uses the asan build's) for a
# bounded time, starting from a scratch copy of its seed corpus (the checked-in
# corpus is never modified). Targets run side by side, one per CPU
# ($PINET_JOBS overrides). Fails when any target finds a crash, leak or timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
jobs=${PINET_JOBS:-$(nproc)}
shopt -s nullglob
fuzz_dir=${PINET_FUZZ_DIR:-build-fuzz/fuzz}
targets=()
# The asan build keeps the corpus replays (fuzz_<name>_replay) in the same folder.
for t in "$fuzz_dir"/fuzz_*; do [[ $t == *_replay ]] || targets+=("$t"); done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz-run.sh: no fuzz targets built in $fuzz_dir" >&2; exit 1; }
work=$(mktemp -d /tmp/pinet-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

# fuzzOne TARGET: runs one target; its summary goes to $work/NAME.summary.
fuzzOne() {
    local t=$1 name maxlen t_secs
    name=$(basename "$t"); name=${name#fuzz_}
    mkdir -p "$work/$name"
    # A target without a seed corpus starts from nothing.
    if [ -d "fuzz/corpus/$name" ]; then cp -r "fuzz/corpus/$name/." "$work/$name/"; fi
    # The EEPROM parser takes whole images (up to 2 MiB).
    maxlen=$([ "$name" = eeprom ] && echo 2200000 || echo 70000)
    # The EEPROM image parser is the issue's named target: it gets at least 60 s.
    t_secs=$secs
    [ "$name" = eeprom ] && [ "$secs" -lt 60 ] && t_secs=60
    "$t" -max_total_time="$t_secs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/$name-" -print_final_stats=1 "$work/$name" 2>"$work/$name.log" || {
        tail -50 "$work/$name.log"; echo "fuzz: $name FAILED" >&2; return 1; }
    echo "fuzz: $name ${t_secs}s: $(grep -E "^stat::number_of_executed_units|^Done" "$work/$name.log" | tr '\n' ' ')"
}

# The longest target first, so that the others fill the remaining CPUs.
ordered=()
for t in "${targets[@]}"; do [[ $t == */fuzz_eeprom ]] && ordered=("$t" "${ordered[@]}") || ordered+=("$t"); done
pids=() names=()
for t in "${ordered[@]}"; do
    # wait -n only frees a slot: a failed target's status is kept by bash and
    # collected by `wait PID` below, so it is not lost here.
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    echo "fuzz: starting $(basename "$t")"
    fuzzOne "$t" &
    pids+=($!) names+=("$(basename "$t")")
done
failed=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { echo "fuzz: ${names[$i]} failed" >&2; failed=1; }
done
[ "$failed" = 0 ] || exit 1
echo "fuzz: all targets ran clean"
