#!/bin/bash
# The bash completion of netvm loads and completes the verbs (no agent, no root needed).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
fails=0
complete_line() { # words... -> COMPREPLY joined by spaces
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
    _netvm
    echo "${COMPREPLY[*]}"
}
check() { # expected actual what
    if [ "$1" = "$2" ]; then echo "PASS: $3"; else echo "FAIL: $3: got '$2', want '$1'"; fails=$((fails + 1)); fi
}
# shellcheck source=completion/netvm
source "$HERE/completion/netvm" || { echo "FAIL: completion/netvm does not load"; exit 1; }
check "_netvm" "$(complete -p netvm | awk '{print $3}')" "complete -F _netvm netvm is registered"
check "run sandbox forwarding config status vif backend plan bundles xs help --version --help --control" \
      "$(complete_line netvm '')" "every verb"
check "status" "$(complete_line netvm st)" "a verb from its start"
check "list" "$(complete_line netvm vif l)" "vif sub-verbs"
check "watch" "$(complete_line netvm --control /run/x.sock xs wa)" "after --control PATH"
check "netvm guest proxy" "$(complete_line netvm run --role '')" "run --role values"
check "--json --numeric" "$(complete_line netvm plan '')" "plan options"
[ "$fails" = 0 ] || exit 1
