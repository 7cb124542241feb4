#!/bin/bash
# install.sh - install or upgrade netvm from an unpacked netvm-<version>.tar.gz (see INSTALL.md).
#
#   sudo ./install.sh [--prefix DIR] [--restart]
#
#   /usr/lib/netvm/             bin/netvm, lib/*.jar, jre/ (jlink runtime), defaults/*.json, INSTALL.md, VERSION
#   /usr/lib/netvm/config    -> /etc/netvm (what bin/netvm reads: config/<role>.json)
#   /usr/sbin/netvm          -> /usr/lib/netvm/bin/netvm
#   /etc/netvm/<role>.json      default configuration, installed only when absent (upgrades keep edits)
#   /etc/netvm/bundles.d/       the deploy directory: extension jars installed and started at every start
#   /etc/systemd/system/        netvm-agent.service, netvm-guest.service, netvm-proxy.service (replaced on upgrade)
#   /etc/xen/scripts/           the Xen hotplug script(s) (replaced on upgrade)
#   /usr/share/bash-completion/completions/netvm   bash completion
#
# --prefix DIR  install under DIR instead of / (tests, image builds); systemd is not touched then.
# --restart     after an upgrade, restart the netvm units that are running (a short network outage:
#               the agent switches forwarding off on stop and on again once its policy is back).
# Idempotent: running it twice gives the same result. It enables nothing; see the last lines it prints.
set -euo pipefail

SRC=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
PREFIX="" RESTART=0
die() { echo "install.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --prefix)
        [ $# -ge 2 ] || die "--prefix needs a directory"
        case "$2" in /*) ;; *) die "--prefix must be an absolute path" ;; esac
        PREFIX=${2%/}; shift 2 ;;
    --restart) RESTART=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
[ -f "$SRC/lib/netvm.jar" ] && [ -f "$SRC/lib/netvm-cli.jar" ] && [ -x "$SRC/bin/netvm" ] ||
    die "$SRC is not an unpacked netvm tarball (no lib/netvm.jar, lib/netvm-cli.jar, bin/netvm)"
[ -n "$PREFIX" ] || [ "$(id -u)" = 0 ] || die "run as root (or give --prefix)"

LIBDIR=$PREFIX/usr/lib/netvm
ETCDIR=$PREFIX/etc/netvm
UNITDIR=$PREFIX/etc/systemd/system
XENDIR=$PREFIX/etc/xen/scripts
SBIN=$PREFIX/usr/sbin
umask 022

# 1. The program tree, replaced as a whole: built next to the old one, then swapped by two renames,
#    so a crash leaves either the old or the new tree. A running agent keeps its open files.
mkdir -p "$PREFIX/usr/lib" "$SBIN"
NEW=$LIBDIR.new.$$
rm -rf "$NEW"
mkdir -p "$NEW"
trap 'rm -rf "$NEW"' EXIT
for d in bin lib jre sandbox; do
    [ -d "$SRC/$d" ] && cp -a "$SRC/$d" "$NEW/"
done
if [ -d "$SRC/config" ]; then
    mkdir -p "$NEW/defaults"
    cp -a "$SRC/config/." "$NEW/defaults/"
fi
[ -f "$SRC/INSTALL.md" ] && cp -a "$SRC/INSTALL.md" "$NEW/"
[ -f "$SRC/VERSION" ] && cp -a "$SRC/VERSION" "$NEW/"
ln -s "${PREFIX}/etc/netvm" "$NEW/config"
# The AOT cache (made below) is kept when neither the jar nor the Java runtime changed.
if [ -f "$LIBDIR/lib/netvm.jar.aot" ] && cmp -s "$LIBDIR/lib/netvm.jar" "$NEW/lib/netvm.jar" &&
   { [ ! -d "$NEW/jre" ] || diff -rq "$LIBDIR/jre" "$NEW/jre" >/dev/null 2>&1; }; then
    cp -a "$LIBDIR/lib/netvm.jar.aot" "$NEW/lib/"
fi
chmod -R go-w "$NEW"
if [ -d "$LIBDIR" ]; then
    rm -rf "$LIBDIR.old"
    mv "$LIBDIR" "$LIBDIR.old"
fi
mv "$NEW" "$LIBDIR"
trap - EXIT
rm -rf "$LIBDIR.old"
ln -sfn "$PREFIX/usr/lib/netvm/bin/netvm" "$SBIN/netvm"
echo "installed $LIBDIR (linked from $SBIN/netvm)"
# The AOT cache is made here, for the installed jar and Java (a training run of a few seconds in a
# network namespace of its own); without it the agent starts as well, only slower.
if [ ! -f "$LIBDIR/lib/netvm.jar.aot" ]; then
    "$LIBDIR/bin/netvm" aot-cache || echo "install.sh: no AOT cache made; the agent starts without it"
fi

# 2. Configuration: only what is missing, never over an operator's file.
mkdir -p "$ETCDIR" "$ETCDIR/bundles.d"   # bundles.d: extensions installed and started at every start
for f in "$SRC"/config/*.json; do
    [ -f "$f" ] || continue
    dest=$ETCDIR/$(basename "$f")
    if [ -e "$dest" ]; then
        if cmp -s "$f" "$dest"; then
            echo "kept $dest (same as the defaults)"
        else
            echo "kept $dest (edited; this release's defaults: $LIBDIR/defaults/$(basename "$f"))"
        fi
    else
        install -m 0644 "$f" "$dest"
        echo "installed $dest"
    fi
done

# 3. systemd units and the Xen hotplug script(s): ours, replaced on upgrade.
mkdir -p "$UNITDIR"
for f in "$SRC"/systemd/*.service; do
    [ -f "$f" ] || continue
    install -m 0644 "$f" "$UNITDIR/$(basename "$f")"
    echo "installed $UNITDIR/$(basename "$f")"
done
if [ -d "$SRC/hotplug" ] && [ -n "$(ls -A "$SRC/hotplug")" ]; then
    mkdir -p "$XENDIR"
    for f in "$SRC"/hotplug/*; do
        [ -f "$f" ] || continue
        install -m 0755 "$f" "$XENDIR/$(basename "$f")"
        echo "installed $XENDIR/$(basename "$f")"
    done
fi
if [ -f "$SRC/completion/netvm" ]; then
    install -D -m 0644 "$SRC/completion/netvm" "$PREFIX/usr/share/bash-completion/completions/netvm"
    echo "installed $PREFIX/usr/share/bash-completion/completions/netvm"
fi

# 4. systemd: only for a real install on a machine that runs it.
units=()
if [ -z "$PREFIX" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl daemon-reload
    if [ "$RESTART" = 1 ]; then
        for u in netvm-agent.service netvm-guest.service netvm-proxy.service; do
            if systemctl is-active --quiet "$u"; then
                systemctl restart "$u"
                echo "restarted $u"
            fi
        done
    else
        for u in netvm-agent.service netvm-guest.service netvm-proxy.service; do
            systemctl is-active --quiet "$u" && units+=("$u")
        done
    fi
fi

echo
echo "netvm $(cat "$SRC/VERSION" 2>/dev/null || basename "$SRC") installed${PREFIX:+ under $PREFIX}."
if [ ${#units[@]} -gt 0 ]; then
    echo "Running with the previous version: ${units[*]}; restart with: systemctl restart ${units[*]}"
fi
echo "Network VM:  systemctl enable --now netvm-agent    Firewall VM:  systemctl enable --now netvm-proxy    Guest VM:  systemctl enable --now netvm-guest"
echo "Configuration: $ETCDIR/<role>.json (read at every start)."
