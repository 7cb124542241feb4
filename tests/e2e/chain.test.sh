#!/bin/bash
# End-to-end: the proxy VM chain (Qubes' sys-net <- sys-firewall <- AppVMs), run by
# `netvm sandbox --chain` (distribution/sandbox/sandbox.sh holds the checks, testlib.sh the topology):
# upstream (dnsmasq) <- netvm (embedded xenstored) <- proxy (a runtime in the proxy role, guest 2 of the
# netvm, reaching xenstore through domain-2.sock) <- 2 guests (guest runtimes), plus one guest of the
# netvm itself. Checks with real traffic: the proxy's uplink set by its own guest component, one
# `netvm status` in-sync; pings to the upstream; DNS1/DNS2 through both DNAT hops (answered by the
# upstream's dnsmasq); isolation in the proxy (guest to guest) and in the netvm (a proxy guest to a
# guest of the netvm, and to the proxy); forged sources dropped by the proxy's anti-spoofing and never
# seen upstream; no proxy port open; the netvm's nameserver changing and the proxy's guests following.
# Prints PASS/FAIL lines and "e2e chain: N passed, M failed". E2E_KEEP=1 keeps the namespaces,
# E2E_LOGS=DIR the logs.
set -uo pipefail
TOP=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
keep=()
[ "${E2E_KEEP:-0}" = 1 ] && keep=(--keep)
NT_SUMMARY="e2e chain" NT_LOGS=${E2E_LOGS:-} exec "$TOP/distribution/bin/netvm" sandbox --chain --guests 2 "${keep[@]}"
