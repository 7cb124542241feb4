#!/bin/bash
# tests/bench/kernel-floor.sh [N] - what the kernel alone costs for the per-vif operations of N guests
# (default 10000): one `ip -batch` each for neighbours, links group 2 up, host routes and the gateway
# address, in a namespace of its own (removed afterwards). The floor under vifs.sh cold start figures.
N=${1:-10000}
T=$(mktemp -d)
trap 'rm -rf "$T"; ip netns del $ns 2>/dev/null' EXIT
ns=nvexp-floor$N
ip netns add $ns
for d in $(seq 1 $N); do echo "link add vif$d.0 type veth peer name g$d"; done > $T/kf1; ip -n $ns -batch $T/kf1
for d in $(seq 1 $N); do echo "link set g$d up"; done > $T/kf2; ip -n $ns -batch $T/kf2
t() { local s=$(date +%s%N); ip -n $ns -batch "$2"; echo "N=$N $1: $(( ($(date +%s%N) - s) / 1000000 )) ms"; }
for d in $(seq 1 $N); do echo "neigh replace 10.$((128 + d / 65536)).$((d / 256 % 256)).$((d % 256)) lladdr 00:16:3e:00:00:01 dev vif$d.0 nud permanent"; done > $T/kf3; t "neighbours" $T/kf3
for d in $(seq 1 $N); do echo "link set dev vif$d.0 group 2 up"; done > $T/kf4; t "links group 2 up" $T/kf4
for d in $(seq 1 $N); do echo "route replace 10.$((128 + d / 65536)).$((d / 256 % 256)).$((d % 256)) dev vif$d.0 metric $((32752 - d)) proto 110"; done > $T/kf5; t "host routes" $T/kf5
for d in $(seq 1 $N); do echo "addr replace 10.137.0.1/32 dev vif$d.0"; done > $T/kf6; t "gateway addresses" $T/kf6
ip netns del $ns
