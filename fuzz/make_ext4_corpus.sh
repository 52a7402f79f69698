#!/usr/bin/env bash
# Regenerates fuzz/corpus/ext4/ (64 KiB ext2/3/4 images made with mke2fs -d
# and debugfs from e2fsprogs; run as root for the owners and the FIFO):
#   bash fuzz/make_ext4_corpus.sh fuzz/corpus/ext4
set -euo pipefail
out=$1
mkdir -p "$out"
w=$(mktemp -d /tmp/make-ext4-corpus.XXXXXX)
trap 'rm -rf "$w"' EXIT
src=$w/src
mkdir -p "$src/d/e"
echo hello > "$src/d/f"
ln "$src/d/f" "$src/d/hard"
ln -s d/f "$src/fast"
ln -s "$(printf 'x%.0s' $(seq 80))" "$src/slow"
mkfifo "$src/fifo"
printf 'sparse' > "$src/sparse"; truncate -s 40K "$src/sparse"
setfattr -n user.k -v v "$src/d/f" 2>/dev/null || true
chown 1000:1000 "$src/d/e"

mk() {  # name mke2fs-options...
    local img=$out/$1; shift
    rm -f "$img"; truncate -s 64K "$img"
    mke2fs -q -F -b 1024 -N "${INODES:-32}" -m 0 "$@" -d "${SRC:-$src}" "$img" 2>"$w/err" || { cat "$w/err" >&2; exit 1; }
}
mk ext4_plain -t ext4 -I 128 -E root_owner=0:0 -O ^has_journal,^resize_inode,^metadata_csum
mk ext4_csum -t ext4 -I 256 -O ^has_journal,^resize_inode
mk ext4_inline -t ext4 -I 256 -O ^has_journal,^resize_inode,inline_data
mk ext2_blockmap -t ext2 -I 128 -O ^resize_inode
# The crafted inode: an inline symlink whose system.data is larger
# than its i_size (160 bytes of attribute in a 512-byte inode; a smaller tree).
mkdir -p "$w/small"; ln -s a "$w/small/fast"; echo a > "$w/small/a"
SRC=$w/small INODES=16 mk ext4_inline_overflow -t ext4 -I 512 -O ^has_journal,^resize_inode,inline_data
head -c 160 /dev/zero | tr '\0' A > "$w/v"
debugfs -w -R "sif /fast flags 0x10000000" "$out/ext4_inline_overflow" >/dev/null 2>&1
debugfs -w -R "ea_set -f $w/v /fast system.data" "$out/ext4_inline_overflow" >/dev/null 2>&1
# A directory reached twice (a cycle).
cp "$out/ext4_plain" "$out/ext4_dir_cycle"
debugfs -w -R "ln /d /d/e/up" "$out/ext4_dir_cycle" >/dev/null 2>&1
