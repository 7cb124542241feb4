#!/bin/bash
# tests/bench/guests.sh - a hook for distribution/measure-startup.sh: attaches N guests (default
# 1000) to the running agent the way a toolstack does, and waits until every vif is programmed.
#
#   distribution/measure-startup.sh --runs 3 --hook 'tests/bench/guests.sh 1000'
#
# Runs with the hook's environment (NETVM_PID, NETVM_JAVA, NETVM_CLI, NETVM_CONTROL): writes
# backend/vif/D/0/{ip,mac} for D = 1..N and the netvm's gateway key through the agent's CLI, then
# creates the N veth pairs vifD.0 in the agent's network namespace with one `ip -batch`; the vif
# bundle picks both up (xenstore watch + link events). Prints the time until all are programmed.
set -euo pipefail
N=${1:-1000}
: "${NETVM_PID:?run me as a measure-startup.sh hook}"
cli() { "$NETVM_JAVA" -XX:TieredStopAtLevel=1 -cp "$NETVM_CLI" org.netvm.control.cli.NetvmCli --control "$NETVM_CONTROL" "$@"; }
t0=$(date +%s%N)
cli xs write /local/domain/0/qubes-netvm-gateway 10.137.0.1 >/dev/null
args=()
for d in $(seq 1 "$N"); do
    args+=("/local/domain/0/backend/vif/$d/0/ip" "10.137.$((d / 250 + 1)).$((d % 250 + 2))"
           "/local/domain/0/backend/vif/$d/0/mac" "$(printf '00:16:3e:5e:%02x:%02x' $((d / 256)) $((d % 256)))")
    if [ ${#args[@]} -ge 200 ]; then cli xs write "${args[@]}" >/dev/null; args=(); fi
done
[ ${#args[@]} -gt 0 ] && cli xs write "${args[@]}" >/dev/null
batch=$(mktemp)
for d in $(seq 1 "$N"); do echo "link add vif$d.0 type veth peer name g$d"; done > "$batch"
nsenter -t "$NETVM_PID" -n ip -batch "$batch"
for d in $(seq 1 "$N"); do echo "link set g$d up"; done > "$batch"
nsenter -t "$NETVM_PID" -n ip -batch "$batch"
rm -f "$batch"
for _ in $(seq 1 600); do
    programmed=$(cli vif list 2>/dev/null | grep -c PROGRAMMED || true)
    [ "$programmed" -ge "$N" ] && break
    sleep 0.5
done
echo "$programmed of $N guests programmed in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
[ "$programmed" -ge "$N" ]
