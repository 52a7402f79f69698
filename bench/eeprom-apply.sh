#!/usr/bin/env bash
# eeprom-apply.sh [RUNS] - wall time of one whole `pinetboot eeprom apply` process on a
# 2 MiB image (pieeprom-2712-2026-05-26.bin + boot.conf). Uses hyperfine when installed,
# else a timed loop. Output goes to tmpfs (/dev/shm) and, separately, to the build
# directory's file system (that run includes the fsync of io::writeFileAtomic).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pinetboot=${PINETBOOT:-$root/build/pinetboot}
data=$(cd "${SHARED_DIR:-$root/../shared}/testdata/eeprom" && pwd)
runs=${1:-50}
shm=$(mktemp -d /dev/shm/pinet-bench.XXXXXX)
disk=$(mktemp -d "$root/build/pinet-bench.XXXXXX")
trap 'rm -rf "$shm" "$disk"' EXIT
cp "$data/pieeprom-2712-2026-05-26.bin" "$data/boot.conf" "$shm/"
for where in "$shm" "$disk"; do
    cmd=("$pinetboot" eeprom apply "$shm/pieeprom-2712-2026-05-26.bin" --config "$shm/boot.conf"
         -o "$where/out.bin")
    "${cmd[@]}" >/dev/null  # warm-up
    echo "== output in $where ($(df -T "$where" | awk 'NR==2{print $2}'))"
    if command -v hyperfine >/dev/null; then
        hyperfine -N -w 3 -r "$runs" "${cmd[*]}"
    else
        start=$(date +%s%N)
        for _ in $(seq "$runs"); do "${cmd[@]}" >/dev/null; done
        end=$(date +%s%N)
        echo "mean wall time: $(( (end - start) / runs / 1000 )) us over $runs runs"
    fi
    if command -v perf >/dev/null; then
        perf stat -r "$runs" "${cmd[@]}" 2>&1 >/dev/null | grep -E "task-clock|elapsed"
    fi
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
