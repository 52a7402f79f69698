#!/usr/bin/env bash
# format.sh [--check] - apply the tree's .clang-format (clang-format 14, from
# Debian's clang-format package) to every C++ file git tracks, or with --check
# list the files that differ and fail (CI runs the check).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format.sh: clang-format missing (apt-get install clang-format)" >&2; exit 2; }
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [ "${1:-}" = --check ]; then
    bad=()
    for f in "${files[@]}"; do
        clang-format --style=file "$f" | cmp -s - "$f" || bad+=("$f")
    done
    if [ ${#bad[@]} -gt 0 ]; then
        printf 'format.sh: not formatted: %s\n' "${bad[@]}" >&2
        echo "format.sh: run scripts/format.sh to fix" >&2
        exit 1
    fi
    echo "format.sh: ${#files[@]} files formatted"
else
    clang-format --style=file -i "${files[@]}"
fi
