#!/usr/bin/env bash
# fuzz-campaign.sh [TARGET...] - a long libFuzzer run of each target (default: all
# of build-fuzz/fuzz/fuzz_*), one after another on all CPUs (-fork), each from a
# scratch copy of its checked-in corpus (which is never modified). Prints a table
# per target: minutes, executions, coverage (cov/ft) at the start and the end, the
# corpus size before and after, and whether it found anything (the crash inputs
# stay in the scratch folder it names). Build first: ./scripts/build.sh fuzz.
# Env: FUZZ_MINUTES per target (default 30), PINET_JOBS (default nproc).
# Not a test: docs/security.md records its results with the command that made them.
set -uo pipefail
cd "$(dirname "$0")/.."
minutes=${FUZZ_MINUTES:-30}
jobs=${PINET_JOBS:-$(nproc)}
work=$(mktemp -d /tmp/pinet-campaign.XXXXXX)
if [ $# -gt 0 ]; then
    targets=(); for t in "$@"; do targets+=("build-fuzz/fuzz/fuzz_$t"); done
else
    shopt -s nullglob; targets=(build-fuzz/fuzz/fuzz_*)
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz-campaign: no targets built (./scripts/build.sh fuzz)" >&2; exit 2; }
echo "| target | minutes | executions | cov start | cov end | ft end | corpus before | corpus after | found |"
echo "|---|---|---|---|---|---|---|---|---|"
failed=0
for t in "${targets[@]}"; do
    [ -x "$t" ] || { echo "fuzz-campaign: $t missing" >&2; failed=1; continue; }
    name=$(basename "$t"); name=${name#fuzz_}
    mkdir -p "$work/$name/corpus"
    cp -r "fuzz/corpus/$name/." "$work/$name/corpus/" 2>/dev/null
    before=$(find "$work/$name/corpus" -type f | wc -l)
    maxlen=$([ "$name" = eeprom ] && echo 2200000 || echo 70000)
    found=no
    "$t" -max_total_time=$((minutes * 60)) -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
        -fork="$jobs" -ignore_crashes=0 -artifact_prefix="$work/$name/" -print_final_stats=1 \
        "$work/$name/corpus" > "$work/$name/log" 2>&1 || found="yes: $work/$name/"
    after=$(find "$work/$name/corpus" -type f | wc -l)
    covs=$(grep -oE "cov: [0-9]+" "$work/$name/log" | awk '{print $2}')
    fts=$(grep -oE "ft: [0-9]+" "$work/$name/log" | awk '{print $2}' | tail -1)
    execs=$(grep -oE "^#[0-9]+" "$work/$name/log" | tail -1 | tr -d '#')
    echo "| $name | $minutes | ${execs:-?} | $(echo "$covs" | head -1) | $(echo "$covs" | tail -1) | ${fts:-?} | $before | $after | $found |"
    [ "$found" = no ] || failed=1
done
echo "scratch: $work"
exit $failed
