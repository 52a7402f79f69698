#!/usr/bin/env bash
# tidy.sh [BUILD_DIR] - clang-tidy (.clang-tidy's checks, warnings as errors)
# over the pure layers, src/proto and src/core, with the compile commands of
# a configured build (default build/). CI runs it after the default build.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
command -v clang-tidy >/dev/null || { echo "tidy.sh: clang-tidy missing (apt-get install clang-tidy)" >&2; exit 2; }
[ -f "$dir/compile_commands.json" ] || { echo "tidy.sh: $dir/compile_commands.json missing (configure first: cmake --preset default)" >&2; exit 2; }
mapfile -t files < <(git ls-files 'src/proto/*.cc' 'src/core/*.cc')
log=$(mktemp /tmp/pinet-tidy.XXXXXX)
trap 'rm -f "$log"' EXIT
if printf '%s\n' "${files[@]}" | xargs -n 4 -P "${PINET_JOBS:-$(nproc)}" clang-tidy -p "$dir" --quiet >"$log" 2>&1; then
    echo "tidy.sh: ${#files[@]} files clean"
else
    grep -E "(warning|error):" "$log" | sort -u >&2 || cat "$log" >&2
    echo "tidy.sh: clang-tidy found problems (above)" >&2
    exit 1
fi
