#!/bin/bash
# test-install.sh - installs the tarball into a temporary prefix and uses it as an operator would.
#
#   distribution/test-install.sh [TARBALL]       (default: distribution/target/netvm-*.tar.gz)
#
# Checks: install.sh lays out the tree; a second run changes nothing and keeps an edited
# /etc/netvm/netvm.json; the installed launcher starts the agent with the bundled jlink runtime
# (embedded xenstored, sockets in the temporary directory, nothing touches the machine's
# network); the installed CLI gets an answer to `help` and reads back a xenstore write; the edited
# configuration reached Config Admin; the units verify (systemd-analyze, when present).
# The agent runs in a network namespace of its own (unshare), so the machine's packet filter and
# sysctls are never touched. Ends with "N passed, N failed"; exit status 1 when something failed.
# Needs no root (unprivileged user namespaces suffice).
set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
TARBALL=${1:-$(ls -t "$HERE"/target/netvm-*.tar.gz 2>/dev/null | head -1)}
[ -f "$TARBALL" ] || { echo "test-install: no tarball (build: mvn -pl distribution install)" >&2; exit 2; }

NT_SUMMARY=test-install
. "$HERE/sandbox/testlib.sh" # counting and polling only (no namespaces of its own)

T=$(mktemp -d "${TMPDIR:-/tmp}/netvm-install-test.XXXXXX")
AGENT=""
cleanup() {
    if [ -n "$AGENT" ]; then kill "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; fi
    rm -rf "$T"
}
trap cleanup EXIT
ROOT=$T/root

tar -xzf "$TARBALL" -C "$T"
SRC=$(ls -d "$T"/netvm-*/ | head -1)
SRC=${SRC%/}

# --- install ---------------------------------------------------------------------------------
"$SRC/install.sh" --prefix "$ROOT" >"$T/install1.log" 2>&1
check "install.sh --prefix exits 0" test $? = 0
L=$ROOT/usr/lib/netvm
check "launcher installed and linked from usr/sbin" test -x "$L/bin/netvm" -a -L "$ROOT/usr/sbin/netvm"
check "jars installed" test -f "$L/lib/netvm.jar" -a -f "$L/lib/netvm-cli.jar"
check "jlink runtime installed, java executable" test -x "$L/jre/bin/java" -a -x "$L/jre/lib/jspawnhelper"
check "the sandbox and its shell library ship" test -x "$SRC/sandbox/sandbox.sh" -a -f "$SRC/sandbox/testlib.sh"
check "VERSION installed (logged by the agent at start)" test -s "$L/VERSION"
check "bash completion installed" test -f "$ROOT/usr/share/bash-completion/completions/netvm"
check "config link points at etc/netvm" test "$(readlink "$L/config")" = "$ROOT/etc/netvm"
check "default configuration installed" test -f "$ROOT/etc/netvm/netvm.json" -a -f "$ROOT/etc/netvm/guest.json"
check "units installed" test -f "$ROOT/etc/systemd/system/netvm-agent.service" -a \
    -f "$ROOT/etc/systemd/system/netvm-guest.service"
if [ -d "$SRC/hotplug" ]; then
    for f in "$SRC"/hotplug/*; do
        check "hotplug script $(basename "$f") installed executable" test -x "$ROOT/etc/xen/scripts/$(basename "$f")"
    done
fi
# the build compiled the native hotplug client where a C compiler is (distribution/hotplug/build.sh):
# shipped as vif-route-netvm (the name Xen's `script` setting gives), the bash script next to it
native_shipped() {
    local x=$ROOT/etc/xen/scripts
    [ "$(head -c 4 "$x/vif-route-netvm" | tr -d '\0')" = $'\x7fELF' ] || { echo "vif-route-netvm is not the native client"; return 1; }
    [ "$(head -n 1 "$x/vif-route-netvm.sh")" = "#!/bin/bash" ] || { echo "no bash script vif-route-netvm.sh"; return 1; }
    echo "vif-route-netvm native, vif-route-netvm.sh the bash script"
}
if command -v cc >/dev/null 2>&1; then
    check "the hotplug script ships as the native client, the bash script next to it" native_shipped
fi

# --- upgrade: idempotent, keeps the operator's configuration ------------------------------------
# The operator sets the dataplane's resync period to 3 s (the default file says 5; the metatype allows 1..5, and a value outside stops the start).
sed -i 's/"resyncSeconds:Integer": 5/"resyncSeconds:Integer": 3/' "$ROOT/etc/netvm/netvm.json"
check "configuration edited for the test" grep -q '"resyncSeconds:Integer": 3' "$ROOT/etc/netvm/netvm.json"
snapshot() { (cd "$ROOT" && find . -printf '%p %l %m\n' | sort && find . -type f -exec md5sum {} + | sort -k2); }
snapshot >"$T/before"
"$SRC/install.sh" --prefix "$ROOT" >"$T/install2.log" 2>&1
check "second install.sh exits 0" test $? = 0
snapshot >"$T/after"
check "second install changes nothing (idempotent)" cmp -s "$T/before" "$T/after"
check "edited configuration kept" grep -q '"resyncSeconds:Integer": 3' "$ROOT/etc/netvm/netvm.json"
check "install.sh says it kept the edited file" grep -q "kept .*netvm.json (edited" "$T/install2.log"
check "no leftover .new/.old trees" test -z "$(ls -d "$L".* 2>/dev/null)"
check "deploy directory created" test -d "$ROOT/etc/netvm/bundles.d"
check "installed config check: the installed file is valid (no agent)" "$ROOT/usr/sbin/netvm" config check
check "installed config check --role guest: guest.json is valid" "$ROOT/usr/sbin/netvm" config check --role guest

# --- run the installed agent with the jlink runtime ---------------------------------------------
# The agent programs packet filters and sysctls: it runs in a network namespace of its own (unshare
# replaces itself by the agent; the namespace goes away with it). Unix sockets stay reachable.
if [ "$(id -u)" = 0 ]; then NETNS=(unshare --net); else NETNS=(unshare --user --map-root-user --net); fi
host_net() { nft list tables 2>/dev/null; cat /proc/sys/net/ipv4/ip_forward; }
host_before=$(host_net)
STATE=$T/state
mkdir -p "$T/run"
env -u NETVM_JAVA -u NETVM_JVM_FLAGS NETVM_STATE="$STATE" "${NETNS[@]}" \
    "$ROOT/usr/sbin/netvm" run --xenstore "embedded:$T/run/xs" --control "$T/run/c.sock" \
    </dev/null >"$T/agent.log" 2>&1 &
AGENT=$!
ready=0
for _ in $(seq 1 300); do
    [ -S "$T/run/c.sock" ] && { ready=1; break; }
    kill -0 "$AGENT" 2>/dev/null || break
    sleep 0.1
done
check "agent started from the installed layout (control socket up)" test $ready = 1
check "agent runs on the bundled jlink runtime" test "$(readlink "/proc/$AGENT/exe")" = "$L/jre/bin/java"
has_arg() { tr '\0' '\n' <"/proc/$AGENT/cmdline" | grep -qxF -- "$1"; }
check "agent was given the installed configuration file" \
    has_arg "-Dconfigurator.initial=file:$ROOT/etc/netvm/netvm.json"

cli() { env -u NETVM_JAVA "$ROOT/usr/sbin/netvm" --control "$T/run/c.sock" "$@"; }
out=$(cli help 2>&1)
check "installed CLI: 'netvm help' answers" test $? = 0
check "'help' lists the agent's commands" grep -q "commands of the running agent" <<<"$out"
# the control socket answers before every command is registered: the round trip may repeat for 10 s
round_trip() {
    cli xs write /netvm-install-test hello >/dev/null 2>&1
    local got
    got=$(cli xs read /netvm-install-test 2>&1)
    echo "read back: $got"
    [ "$got" = hello ]
}
check_within 10 "installed CLI: xs write/read round trip" round_trip

# The Configurator put the edited file into Config Admin (Felix keeps one .config file per PID).
cfg=""
for _ in $(seq 1 50); do
    cfg=$(find "$STATE" -path '*/config/org/netvm/dataplane.config' 2>/dev/null | head -1)
    [ -n "$cfg" ] && break
    sleep 0.1
done
check "edited configuration applied (org.netvm.dataplane resyncSeconds=3)" \
    grep -q 'resyncSeconds=I"3"' "${cfg:-/dev/null}"
check "no configurator errors in the log" bash -c "! grep -q 'ERROR org.apache.felix.configurator' '$T/agent.log'"

kill "$AGENT"
wait "$AGENT" 2>/dev/null
rc=$?
AGENT=""
check "agent stops on SIGTERM (status 143, listed in SuccessExitStatus)" test "$rc" = 143
check "the machine's own namespace untouched (nft tables, ip_forward)" test "$(host_net)" = "$host_before"

# --- units ---------------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/units"
    for u in "$ROOT"/etc/systemd/system/*.service; do
        sed "s#/usr/lib/netvm/#$L/#g" "$u" >"$T/units/$(basename "$u")"
    done
    out=$(cd "$T/units" && systemd-analyze verify --man=no ./*.service 2>&1)
    check "systemd-analyze verify accepts the units" test -z "$out"
    [ -z "$out" ] || echo "$out" | sed 's/^/     /'
fi

if [ "$NT_FAILED" -gt 0 ]; then
    echo "--- agent log"; tail -30 "$T/agent.log"
fi
nt_finish
