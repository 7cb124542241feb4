#!/bin/bash
# The hotplug path's clients against hostile peers, without an agent:
#   - netvm-ctl (what the Xen hotplug script runs) against a socket that announces a 2 GiB frame or
#     streams without end: it refuses the frame at once and exits 3 instead of buffering;
#   - vif-route-netvm's own fallback (agent not reachable) writes hotplug-status only into the
#     directory of the vif it was called for: a mismatched or foreign XENBUS_PATH writes nothing;
#     checked for the bash script and for the native client (built here from the current source with
#     distribution/hotplug/build.sh when a C compiler is there, with ../bin next to it as in a tarball).
# xenstore-write is replaced by a recorder on PATH; nothing here touches xenstore or the network.
# Prints PASS/FAIL lines; exits non-zero when anything failed.
set -uo pipefail
TOP=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
W=$(mktemp -d /tmp/netvm-hotplug-client.XXXXXX)
PEER=
cleanup() { [ -n "$PEER" ] && kill "$PEER" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }

# --- netvm-ctl against a hostile control socket
hostile_peer() { # MODE: bigframe | endless
    python3 - "$W/hostile.sock" "$1" <<'PY' &
import os, socket, struct, sys
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1)
c, _ = s.accept()
c.recv(65536)
try:
    if mode == "bigframe":
        c.sendall(b"o" + struct.pack(">I", 0x7ff00000) + b"x" * 65536)
    else:
        frame = b"o" + struct.pack(">I", 65536) + b"y" * 65536
        while True:
            c.sendall(frame)
except OSError:
    pass
PY
    PEER=$!
    for _ in $(seq 1 100); do [ -S "$W/hostile.sock" ] && return 0; sleep 0.05; done
    return 1
}
for mode in bigframe; do
    rm -f "$W/hostile.sock"
    hostile_peer $mode || fail "hostile peer ($mode) did not start"
    start=$(date +%s%N)
    timeout 20 "$TOP/distribution/bin/netvm-ctl" --control "$W/hostile.sock" vif list >/dev/null 2>"$W/err"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ "$rc" = 3 ] && grep -q "bad frame length" "$W/err"; then
        pass "netvm-ctl refuses a 2 GiB frame at once (exit 3 after ${ms} ms)"
    else
        fail "netvm-ctl and a 2 GiB frame: exit $rc, $(head -c 300 "$W/err")"
    fi
    kill "$PEER" 2>/dev/null; wait "$PEER" 2>/dev/null; PEER=
done
# the streaming peer: netvm-ctl relays as it reads; its RSS stays small while the answer never ends
rm -f "$W/hostile.sock"
hostile_peer endless || fail "hostile peer (endless) did not start"
"$TOP/distribution/bin/netvm-ctl" --control "$W/hostile.sock" vif list >/dev/null 2>&1 &
CTL_PID=$!
sleep 3
rss=$(awk '/VmRSS/ {print $2}' "/proc/$CTL_PID/status" 2>/dev/null || echo 0)
if [ "${rss:-0}" -gt 0 ] && [ "$rss" -lt 65536 ]; then
    pass "netvm-ctl streams an endless answer without buffering it (RSS ${rss} kB after 3 s)"
else
    fail "netvm-ctl and an endless answer: pid $CTL_PID, RSS '${rss}' kB (it must still be running, and small)"
fi
kill "$CTL_PID" 2>/dev/null
kill "$PEER" 2>/dev/null; wait 2>/dev/null; PEER=

# --- vif-route-netvm's fallback writes only into its own vif's directory
mkdir -p "$W/bin"
cat > "$W/bin/xenstore-write" <<REC
#!/bin/sh
echo "\$*" >> "$W/writes"
REC
chmod +x "$W/bin/xenstore-write"
IMPLS=("$TOP/distribution/hotplug/vif-route-netvm")
mkdir -p "$W/native"
ln -s "$TOP/distribution/bin" "$W/native/bin"
out=$(sh "$TOP/distribution/hotplug/build.sh" "$W/native/hotplug" 2>&1)
if [ "$(head -c 4 "$W/native/hotplug/vif-route-netvm" 2>/dev/null | tr -d '\0')" = $'\x7fELF' ]; then
    IMPLS+=("$W/native/hotplug/vif-route-netvm")
else
    echo "# no native hotplug client (${out:-not built}): the bash script alone is checked"
fi
fallback() { # IMPL vif XENBUS_PATH -> prints what xenstore-write was asked to write
    rm -f "$W/writes"
    PATH="$W/bin:$PATH" NETVM_CONTROL="$W/nobody.sock" vif="$2" XENBUS_PATH="$3" "$1" online >/dev/null 2>&1
    cat "$W/writes" 2>/dev/null
}
for impl in "${IMPLS[@]}"; do
    n="[bash script]"
    [ "$impl" = "${IMPLS[0]}" ] || n="[native client]"
    w=$(fallback "$impl" vif3.0 backend/vif/3/0)
    case "$w" in
    *"backend/vif/3/0/hotplug-error netvm agent not reached (exit status 3) backend/vif/3/0/hotplug-status error"*)
        pass "$n fallback: the vif's own directory gets hotplug-status=error" ;;
    *) fail "$n fallback: own directory not written ('$w')" ;;
    esac
    w=$(fallback "$impl" vif3.0 /local/domain/0/backend/vif/3/0)
    case "$w" in
    *"/local/domain/0/backend/vif/3/0/hotplug-status error"*) pass "$n fallback: an absolute path of the vif's own directory is written" ;;
    *) fail "$n fallback: absolute own directory not written ('$w')" ;;
    esac
    for bad in "vif1.0|backend/vif/2/0" "vif1.0|/local/domain/0/backend/vif/2/0" "vif1.0|/tool/xenstored" \
            "vif1.0|backend/vif/1/0/../../2/0" "vif1.0|-s" "vif1.0|" "up0|backend/vif/1/0" \
            "vif1.0|backend/vif/1/0/x" "vif1.0|/local/domain/0/backend/vif/1/00" \
            "vif1.0|/local/domain/123456/backend/vif/1/0" "vif123456.0|backend/vif/123456/0" "vif1.0x|backend/vif/1/0"; do
        w=$(fallback "$impl" "${bad%%|*}" "${bad#*|}")
        if [ -z "$w" ]; then
            pass "$n fallback: vif='${bad%%|*}' XENBUS_PATH='${bad#*|}' writes nothing"
        else
            fail "$n fallback: vif='${bad%%|*}' XENBUS_PATH='${bad#*|}' wrote '$w'"
        fi
    done
done
[ "$FAILED" -eq 0 ]
