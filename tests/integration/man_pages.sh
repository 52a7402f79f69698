#!/usr/bin/env bash
# man_pages.sh - the generated man pages and completions follow the CLI:
# every command --help lists has a page, every option a --help lists (of the
# command and of each nested subcommand) is on its page, the pages render
# without groff warnings, and the bash completion completes `pinetboot ser`
# to serve (zsh: the script parses). Drift between a command's CLI11
# definition and its page fails here.
set -euo pipefail
PINETBOOT=${PINETBOOT:?}
BUILD_DIR=${BUILD_DIR:?}
W=$(mktemp -d /tmp/pnb-man.XXXXXX)
trap 'rm -rf "$W"' EXIT
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }

# Generate afresh from the binary under test (the build's copy is the same
# command's output; this also checks the front hands __docs over).
"$PINETBOOT" __docs --out-dir "$W/gen" >/dev/null
MAN=$W/gen/man
if cmp -s "$MAN/pinetboot-serve.1" "$BUILD_DIR/generated/man/pinetboot-serve.1"; then
    ok "the build's generated pages are current"
else
    bad "build/generated/man differs from what the binary generates (the custom command did not run?)"
fi

# The words a --help lists under "Subcommands:" and its option names.
help_subcommands() { awk '/^Subcommands:/{s=1;next} s&&/^  [a-z]/{print $1} s&&/^$/{s=0}' ; }
help_options() { grep -oE '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ ,]*//' | sort -u; }
# A page's text with roff's escaped hyphens and font changes made plain.
page_text() { sed 's/\\-/-/g; s/\\f[BIRP]//g' "$1"; }

mapfile -t commands < <("$PINETBOOT" --help | help_subcommands)
[ ${#commands[@]} -ge 10 ] || bad "only ${#commands[@]} commands in pinetboot --help"
checked=0
check_tree() {  # page words... (a whole page in a variable: grep -q on a pipe would SIGPIPE its writer)
    local page=$1; shift
    local help opt sub text
    help=$("$PINETBOOT" "$@" --help)
    text=$(page_text "$page")
    for opt in $(echo "$help" | sed '/^Subcommands:/,$d' | help_options); do
        checked=$((checked+1))
        grep -qE -- "(^|[^A-Za-z0-9-])$opt([^A-Za-z0-9-]|$)" <<<"$text" ||
            bad "$(basename "$page"): '$*' --help lists $opt, the page does not"
    done
    [ $# -gt 0 ] || return 0  # pinetboot(1) lists the commands, their pages the rest
    for sub in $(echo "$help" | help_subcommands); do
        grep -qF ".SS \"pinetboot $* $sub\"" <<<"$text" ||
            bad "$(basename "$page"): no section for 'pinetboot $* $sub'"
        check_tree "$page" "$@" "$sub"
    done
}
for c in "${commands[@]}"; do
    page=$MAN/pinetboot-$c.1
    if [ ! -s "$page" ]; then bad "no man page for $c"; continue; fi
    check_tree "$page" "$c"
    warn=$(groff -man -ww -z "$page" 2>&1 || true)
    [ -z "$warn" ] || bad "groff warns on pinetboot-$c.1: $warn"
done
check_tree "$MAN/pinetboot.1"
root_text=$(page_text "$MAN/pinetboot.1")
for c in "${commands[@]}"; do
    grep -qF "pinetboot-$c(1)" <<<"$root_text" || bad "pinetboot(1) does not point to pinetboot-$c(1)"
done
[ "$fails" = 0 ] && ok "${#commands[@]} pages, $checked options of every --help on their pages"

# A hidden command does not show in --help.
grep -q __docs <<<"$("$PINETBOOT" --help)" && bad "--help lists the hidden __docs command"

# A man page the man program reads, with its NAME line.
if command -v man >/dev/null; then
    out=$(MANWIDTH=80 man -l "$MAN/pinetboot-serve.1" 2>&1)
    grep -qE "pinetboot-serve +- " <<<"$out" && ok "man -l renders pinetboot-serve(1)" ||
        bad "man -l pinetboot-serve.1: $out"
fi

# bash: source the script, set COMP_WORDS as readline would, call the function.
complete_bash() {  # cword words...
    bash -c 'source "$1"; shift; COMP_CWORD=$1; shift; COMP_WORDS=("$@"); _pinetboot; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$W/gen/bash-completion/pinetboot" "$@"
}
got=$(complete_bash 1 pinetboot ser)
[ "$got" = serve ] && ok "bash: pinetboot ser<TAB> -> serve" || bad "bash: pinetboot ser<TAB> gave '$got'"
got=$(complete_bash 2 pinetboot client ad)
[ "$got" = add ] && ok "bash: pinetboot client ad<TAB> -> add" || bad "bash: client ad<TAB> gave '$got'"
got=$(complete_bash 3 pinetboot -v serve --interf)
[ "$got" = --interface ] && ok "bash: serve --interf<TAB> -> --interface" || bad "bash: serve --interf<TAB> gave '$got'"
# The value of an option is a file name (readline's default), not a command.
got=$(complete_bash 3 pinetboot check-config --docs "")
[ -z "$got" ] && ok "bash: check-config's FILE falls back to file names" || bad "bash: check-config FILE gave '$got'"
got=$(complete_bash 1 pinetboot "")
[ "$(echo "$got" | wc -l)" = "${#commands[@]}" ] && ok "bash: pinetboot <TAB> offers the ${#commands[@]} commands" ||
    bad "bash: pinetboot <TAB> gave $(echo "$got" | wc -l) words, --help lists ${#commands[@]}"

if command -v zsh >/dev/null; then
    zsh -n "$W/gen/zsh/_pinetboot" && ok "zsh: _pinetboot parses" || bad "zsh: _pinetboot does not parse"
    # Run the function as compsys would, with its builtins as stubs that print
    # what they were given: after `pinetboot client ` it offers client's subcommands.
    zsh_complete() {  # current words...
        zsh -fc 'compadd() { print -l -- "${@:2}"; }; _files() { print FILES; }
            _describe() { print -l -- ${(P)4}; }
            CURRENT=$1; shift; words=("$@"); PREFIX=${words[CURRENT]}
            source "$ZSH_SCRIPT"' _ "$@"
    }
    export ZSH_SCRIPT=$W/gen/zsh/_pinetboot
    got=$(zsh_complete 3 pinetboot client "" | cut -d: -f1 | sort | paste -sd' ')
    want=$("$PINETBOOT" client --help | help_subcommands | sort | paste -sd' ')
    [ "$got" = "$want" ] && ok "zsh: pinetboot client <TAB> offers $got" || bad "zsh: client <TAB> gave '$got', --help lists '$want'"
    got=$(zsh_complete 3 pinetboot serve --interf | grep -c -- '^--interface$' || true)
    [ "$got" = 1 ] && ok "zsh: serve --<TAB> offers --interface" || bad "zsh: serve --<TAB> lacks --interface"
    got=$(zsh_complete 4 pinetboot serve --root "")
    [ "$got" = FILES ] && ok "zsh: the value of --root is a file" || bad "zsh: serve --root <TAB> gave '$got'"
else
    bad "zsh missing (scripts/setup.sh installs it)"
fi

echo "man_pages: $fails failures"
[ "$fails" = 0 ]
