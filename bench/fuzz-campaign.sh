#!/usr/bin/env bash
# fuzz-campaign.sh [TARGET...] - a long libFuzzer run of each target (default: all
# of build-fuzz/fuzz/fuzz_*), FUZZ_PARALLEL targets at a time (default 1, then on
# all CPUs with -fork), each from a scratch copy of its checked-in corpus (which is
# never modified). Prints a table
# per target: minutes, executions, coverage (cov/ft) at the start and the end, the
# corpus size before and after, and whether it found anything (the crash inputs
# stay in the scratch folder it names). Build first: ./scripts/build.sh fuzz.
# Env: FUZZ_MINUTES per target (default 30, wall clock), PINET_JOBS (default nproc),
# FUZZ_TIMEOUT seconds per input before libFuzzer calls it a hang (default 10; raise it
# when the targets run at nice 19 beside other work, where a starved input can pass it),
# FUZZ_PARALLEL targets at once (each then runs one process; the table's cpu column
# says how much CPU each got, which is less than its wall minutes when they share).
# Not a test: docs/security.md records its results with the command that made them.
set -uo pipefail
cd "$(dirname "$0")/.."
minutes=${FUZZ_MINUTES:-30}
jobs=${PINET_JOBS:-$(nproc)}
parallel=${FUZZ_PARALLEL:-1}
# FUZZ_SECONDS overrides the minutes (a quick check of this script); 0 would mean
# "forever" to libFuzzer, so it is refused.
seconds=${FUZZ_SECONDS:-$((minutes * 60))}
[ "$seconds" -gt 0 ] || { echo "fuzz-campaign: the time per target must be above 0" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "fuzz-campaign: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d /tmp/pinet-campaign.XXXXXX)
if [ $# -gt 0 ]; then
    targets=(); for t in "$@"; do targets+=("build-fuzz/fuzz/fuzz_$t"); done
else
    shopt -s nullglob; targets=(build-fuzz/fuzz/fuzz_*)
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz-campaign: no targets built (./scripts/build.sh fuzz)" >&2; exit 2; }
echo "| target | wall min | cpu min | executions | cov start | cov end | ft end | corpus before | corpus after | found |"
echo "|---|---|---|---|---|---|---|---|---|---|"
# runOne TARGET: one campaign; writes its table row to $work/NAME/row.
runOne() {
    local t=$1 name before after covs fts execs maxlen found cpu
    name=$(basename "$t"); name=${name#fuzz_}
    mkdir -p "$work/$name/corpus"
    # A target without a checked-in corpus starts empty (expected for none today).
    [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$work/$name/corpus/"
    before=$(find "$work/$name/corpus" -type f | wc -l)
    maxlen=$([ "$name" = eeprom ] && echo 2200000 || echo 70000)
    found=no
    local fork=()
    [ "$parallel" -gt 1 ] || fork=(-fork="$jobs" -ignore_crashes=0)
    # /usr/bin/time gives the CPU the target got (user+sys, children included).
    /usr/bin/time -f "%e %U %S" -o "$work/$name/time" \
        "$t" -max_total_time="$seconds" -max_len="$maxlen" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 \
        "${fork[@]}" -artifact_prefix="$work/$name/" -print_final_stats=1 \
        "$work/$name/corpus" > "$work/$name/log" 2>&1 || found="yes: $work/$name/"
    # The last line: time(1) puts "Command exited with non-zero status N" before it when
    # the target stopped at a finding (it then ran less than the time asked for).
    wall=$(tail -1 "$work/$name/time" | awk '{printf "%.1f", $1 / 60}')
    cpu=$(tail -1 "$work/$name/time" | awk '{printf "%.1f", ($2 + $3) / 60}')
    after=$(find "$work/$name/corpus" -type f | wc -l)
    covs=$(grep -oE "cov: [0-9]+" "$work/$name/log" | awk '{print $2}')
    fts=$(grep -oE "ft: [0-9]+" "$work/$name/log" | awk '{print $2}' | tail -1)
    execs=$(grep -oE "^#[0-9]+" "$work/$name/log" | tail -1 | tr -d '#')
    [ -n "$execs" ] || execs=$(grep -oE "stat::number_of_executed_units: [0-9]+" "$work/$name/log" | awk '{print $2}')
    echo "| $name | ${wall:-?} | ${cpu:-?} | ${execs:-?} | $(echo "$covs" | head -1) | $(echo "$covs" | tail -1) | ${fts:-?} | $before | $after | $found |" > "$work/$name/row"
}
failed=0
running=0
names=()
for t in "${targets[@]}"; do
    [ -x "$t" ] || { echo "fuzz-campaign: $t missing" >&2; failed=1; continue; }
    n=$(basename "$t"); names+=("${n#fuzz_}")
    runOne "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
done
wait
for name in "${names[@]}"; do
    cat "$work/$name/row"
    grep -q "| no |$" "$work/$name/row" || failed=1
done
echo "scratch: $work"
exit $failed
