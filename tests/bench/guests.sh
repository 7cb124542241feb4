#!/bin/bash
# tests/bench/guests.sh - a hook for distribution/measure-startup.sh: attaches N guests (default
# 1000) to the running agent the way a toolstack does, and waits until every vif is programmed.
#
#   distribution/measure-startup.sh --runs 3 --hook 'tests/bench/guests.sh 1000'
#
# Runs with the hook's environment (NETVM_PID, NETVM_JAVA, NETVM_CLI, NETVM_CONTROL,
# NETVM_XENSTORED): writes backend/vif/D/0/{ip,mac} for D = 1..N and the netvm's gateway key into
# the agent's xenstore in one transaction (xenstore-write, as a toolstack would; the agent's CLI when
# xenstore-utils is missing), then creates the N veth pairs vifD.0 in the agent's network namespace
# with one `ip -batch`; the vif bundle picks both up (xenstore watch + link events). Prints the
# time of each phase: the second one is the agent's programming time.
set -euo pipefail
N=${1:-1000}
: "${NETVM_PID:?run me as a measure-startup.sh hook}"
cli() { "$NETVM_JAVA" -XX:TieredStopAtLevel=1 -cp "$NETVM_CLI" org.netvm.cli.NetvmCli --control "$NETVM_CONTROL" "$@"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
t0=$(date +%s%N)
args=(/local/domain/0/qubes-netvm-gateway 10.137.0.1)
for d in $(seq 1 "$N"); do
    args+=("/local/domain/0/backend/vif/$d/0/ip" "10.137.$((d / 250 + 1)).$((d % 250 + 2))"
           "/local/domain/0/backend/vif/$d/0/mac" "$(printf '00:16:3e:5e:%02x:%02x' $((d / 256)) $((d % 256)))")
done
if command -v xenstore-write >/dev/null && [ -n "${NETVM_XENSTORED:-}" ]; then
    XENSTORED_PATH=$NETVM_XENSTORED xenstore-write "${args[@]}"
else
    for ((i = 0; i < ${#args[@]}; i += 200)); do cli xs write "${args[@]:i:200}" >/dev/null; done
fi
echo "xenstore entries of $N guests written in $(ms $t0) ms"
t1=$(date +%s%N)
batch=$(mktemp)
for d in $(seq 1 "$N"); do echo "link add vif$d.0 type veth peer name g$d"; done > "$batch"
nsenter -t "$NETVM_PID" -n ip -batch "$batch"
for d in $(seq 1 "$N"); do echo "link set g$d up"; done > "$batch"
nsenter -t "$NETVM_PID" -n ip -batch "$batch"
rm -f "$batch"
for _ in $(seq 1 600); do
    programmed=$(cli vif list 2>/dev/null | grep -c " programmed " || true)
    [ "$programmed" -ge "$N" ] && break
    sleep 0.5
done
echo "$programmed of $N guests programmed $(ms $t1) ms after their devices appeared ($(ms $t0) ms in all)"
[ "$programmed" -ge "$N" ]
