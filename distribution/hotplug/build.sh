#!/bin/sh
# build.sh OUTDIR - the hotplug scripts as they ship, into OUTDIR (the distribution's Maven build runs
# it for target/hotplug, which the tarball takes; tests/e2e/hotplug-fast.test.sh runs it to test the
# current source):
#   OUTDIR/vif-route-netvm     the native client compiled from vif-route-netvm.c when a C compiler
#                              (cc, or $CC) is there: static when the toolchain links statically, else
#                              dynamic; without a compiler, a copy of the bash script (a line says so)
#   OUTDIR/vif-route-netvm.sh  the bash script (the reference, and what runs where nothing was compiled)
# Xen's `script` setting names vif-route-netvm either way.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$1
mkdir -p "$out"
install -m 0755 "$here/vif-route-netvm" "$out/vif-route-netvm.sh"
cc=${CC:-cc}
flags="-std=c11 -O2 -Wall -Wextra -s"
tmp=$out/.vif-route-netvm.build.$$
trap 'rm -f "$tmp"' EXIT
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "hotplug: no C compiler ($cc): vif-route-netvm ships as the bash script"
    install -m 0755 "$here/vif-route-netvm" "$out/vif-route-netvm"
elif "$cc" $flags -static -o "$tmp" "$here/vif-route-netvm.c" 2>/dev/null ||
     "$cc" $flags -o "$tmp" "$here/vif-route-netvm.c"; then
    chmod 0755 "$tmp"
    mv -f "$tmp" "$out/vif-route-netvm"
else
    echo "hotplug: WARNING: $cc could not build vif-route-netvm.c: vif-route-netvm ships as the bash script"
    install -m 0755 "$here/vif-route-netvm" "$out/vif-route-netvm"
fi
