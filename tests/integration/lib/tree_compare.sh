# tree_compare.sh - sourced by the image tests: listings of a tree that two
# trees must share after an import or a copy (type, mode, owner, size, mtime
# seconds, symlink target; device numbers; hard-link groups; xattrs; caps).
tc_listing() { (cd "$1" && find . -path ./lost+found -prune -o -printf '%p %y %m %U %G %s %Ts %l\n' | grep -v '^\./lost+found' | grep -v '^\. d' | sort); }
tc_devs()    { (cd "$1" && find . \( -type c -o -type b \) -exec stat -c '%n %t:%T' {} + | sort); }
tc_links()   { (cd "$1" && find . -type f -links +1 -printf '%i %p\n' | sort -k2 | awk '{a[$1]=a[$1]" "$2} END{for(k in a) print a[k]}' | sort); }
tc_xattrs()  { (cd "$1" && getfattr -R -h -d -m - . 2>/dev/null | grep -v '^$'); }
tc_caps()    { (cd "$1" && getcap -r . 2>/dev/null | sort); }
# tc_same REF DIR: prints the first difference and returns 1 on mismatch.
tc_same() {
    local f
    for f in tc_listing tc_devs tc_links tc_xattrs tc_caps; do
        if ! diff <($f "$1") <($f "$2") >/tmp/tc_diff.$$ 2>&1; then
            echo "$f differs between $1 and $2:"; head -20 /tmp/tc_diff.$$; rm -f /tmp/tc_diff.$$; return 1
        fi
    done
    rm -f /tmp/tc_diff.$$
}
