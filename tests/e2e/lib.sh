# What only the end-to-end tests of the netvm role add to the shared library
# (distribution/sandbox/testlib.sh: topology, agent, toolstack keys, guests, counting, polling;
# its header describes the topology). Sourced by tests/e2e/*.test.sh.
#
# Output contract: one line per check, "PASS name (figure)" or "FAIL name: why", then
# "e2e <script>: N passed, M failed"; exit status 0 only if all passed.
# E2E_KEEP=1 keeps the namespaces and the run directory; E2E_LOGS=DIR keeps the logs.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_TOP=$(cd "$E2E_DIR/../.." && pwd)
. "$E2E_TOP/distribution/sandbox/testlib.sh"
NVCTL=("$PY" "$E2E_DIR/nvctl.py")
PKT=("$PY" "$E2E_DIR/pkt.py")
NT_KEEP=${E2E_KEEP:-0}
NT_LOGS=${E2E_LOGS:-}

# e2e_init TAG: names (prefix nve, suffix TAG-PID), run dir, traps, preconditions
e2e_init() {
    TEST_NAME=$1
    NT_SUMMARY="e2e $1"
    nt_init nve "$1-$$" nft dnsmasq dig ping nc conntrack
}
e2e_finish() { nt_finish; }

# median and max of numbers on stdin: prints "median M ms, max X ms (n=N)"
stats() {
    sort -n | awk '{v[NR]=$1} END {if (NR==0) {print "no samples"; exit} m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "median %s ms, max %s ms (n=%d)", m, v[NR], NR}'
}

# the DNS DNAT chain as the netvm's kernel holds it (nftables backend)
dnat_chain() { ip netns exec "$NV" nft list chain ip netvm-ip dnat-dns 2>/dev/null; }
guard_chain() { ip netns exec "$NV" nft list chain ip netvm-ip dns-guard 2>/dev/null; }

# native_hotplug DIR: the hotplug client as it ships, built from the current source into DIR/hotplug
# (distribution/hotplug/build.sh) with DIR/bin -> the checkout's bin/ (where it finds netvm-ctl, as in
# a tarball); sets HOTPLUG_IMPLS to the implementations every hotplug check runs with: the bash script
# ($HOTPLUG) and, when a C compiler built it, the native client (NATIVE_HOTPLUG).
native_hotplug() {
    local dir=$1 out
    NATIVE_HOTPLUG=
    HOTPLUG_IMPLS=("$HOTPLUG")
    mkdir -p "$dir"
    ln -sfn "$NT_DIST/bin" "$dir/bin"
    out=$(sh "$NT_DIST/hotplug/build.sh" "$dir/hotplug" 2>&1) || { log "hotplug build failed: $out"; return 0; }
    if [ "$(head -c 4 "$dir/hotplug/vif-route-netvm" 2>/dev/null | tr -d '\0')" = $'\x7fELF' ]; then
        NATIVE_HOTPLUG=$dir/hotplug/vif-route-netvm
        HOTPLUG_IMPLS+=("$NATIVE_HOTPLUG")
    else
        log "no native hotplug client (${out:-not built}): the bash script alone is checked"
    fi
}
# impl_name PATH: "bash script" or "native client"
impl_name() { [ "$1" = "${NATIVE_HOTPLUG:-}" ] && echo "native client" || echo "bash script"; }
