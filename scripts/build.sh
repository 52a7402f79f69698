#!/usr/bin/env bash
# build.sh [PRESET] - configure and build one preset: default (build/),
# asan (build-asan/) or fuzz (build-fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-default}
case "$preset" in
    default) dir=build ;;
    asan) dir=build-asan ;;
    fuzz) dir=build-fuzz ;;
    *) echo "build.sh: unknown preset $preset" >&2; exit 2 ;;
esac
cmake --preset "$preset" >/dev/null
cmake --build "$dir" -j "${PINET_JOBS:-$(nproc)}"
