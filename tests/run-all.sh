#!/bin/bash
# Builds everything and runs every test: unit tests next to each bundle (surefire, including the
# real-kernel and real-xenstored tests, which need root), then the in-framework tests in tests/.
# Ends with one line "N passed, N failed" over all of them; fails on any failure and when the
# in-framework run reported zero tests (a silent run is a failed run).
# As root nothing may skip for want of root or tools: a script line "SKIP ..." is a failure, and so
# is every skipped JUnit test (surefire and in-framework reports) unless its reason is one of
# SKIP_ALLOWED (a test for another runtime role, an opt-in benchmark), which root cannot change.
set -uo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=${NETVM_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
[ -x "$JAVA_HOME/bin/java" ] || { echo "run-all: JDK 25 not found at $JAVA_HOME (set NETVM_JAVA_HOME)" >&2; exit 2; }
export PATH="$JAVA_HOME/bin:$PATH"

# stale reports must not count
rm -rf bundles/*/target/surefire-reports tests/target/test-reports
mvn -B -ntp -fae install "$@"
mvn_status=$?

count() { # prints "tests failures errors skipped" summed over the given report files
    awk 'match($0, /<testsuite [^>]*>/) {
            s = substr($0, RSTART, RLENGTH)
            for (k = 1; k <= 4; k++) {
                split("tests failures errors skipped", names, " ")
                if (match(s, names[k] "=\"[0-9]+\"")) { v = substr(s, RSTART, RLENGTH); gsub(/[^0-9]/, "", v); sum[k] += v }
            }
         }
         END { printf "%d %d %d %d\n", sum[1], sum[2], sum[3], sum[4] }' "$@" /dev/null
}
# End-to-end scripts (real namespaces, runtimes and traffic): the sandbox, then tests/e2e/*.test.sh,
# the extension walkthrough and the chaos soak (tests/chaos/soak.sh). Each prints PASS/FAIL lines; a script that fails without one counts once.
et=0; ef=0
run_script() { # name, command...
    local name=$1; shift
    local log; log=$(mktemp)
    echo "=== $name"
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local p f
    p=$(grep -cE '^ *PASS' "$log"); f=$(grep -cE '^ *FAIL' "$log")
    [ "$(id -u)" = 0 ] && f=$((f + $(grep -cE '^ *SKIP' "$log")))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    et=$((et + p + f)); ef=$((ef + f))
    rm -f "$log"
}
if [ "${NETVM_SKIP_E2E:-0}" != 1 ] && [ "$mvn_status" -eq 0 ] && [ "$(id -u)" = 0 ]; then
    run_script "netvm sandbox" distribution/bin/netvm sandbox --guests 2 --swaps 10
    run_script "install test" bash distribution/test-install.sh
    run_script "bash completion" bash distribution/test-completion.sh
    run_script "baseline check" bash tests/baseline-check.sh
    for t in tests/e2e/*.test.sh docs/extending-test.sh; do
        [ -f "$t" ] && run_script "$t" bash "$t"
    done
    # the chaos soak, 2 minutes of faults (SOAK_GUESTS guests, 100 by default)
    run_script "chaos soak (2 min)" bash tests/chaos/soak.sh 2
fi

# root_skips REPORT...: "class.test: reason" per skipped test whose reason is not in SKIP_ALLOWED
SKIP_ALLOWED='role runtime only|role only|role with the embedded xenstored only|-Dnetvm\.bench=true'
root_skips() {
    python3 - "$SKIP_ALLOWED" "$@" <<'PY'
import re, sys, xml.etree.ElementTree as ET
allowed = re.compile(sys.argv[1])
for f in sys.argv[2:]:
    try:
        root = ET.parse(f).getroot()
    except (ET.ParseError, OSError):
        continue
    for tc in root.iter("testcase"):
        for sk in tc.findall("skipped"):
            why = sk.get("message") or (sk.text or "").strip() or "no reason given"
            if not allowed.search(why):
                print("%s.%s: %s" % (tc.get("classname"), tc.get("name"), why.splitlines()[0]))
PY
}
rs=0
if [ "$(id -u)" = 0 ]; then
    bad=$(root_skips bundles/*/target/surefire-reports/TEST-*.xml tests/target/test-reports/*/TEST-*.xml)
    if [ -n "$bad" ]; then
        rs=$(printf '%s\n' "$bad" | wc -l)
        echo "run-all: as root, $rs test(s) skipped for a reason root should not have:"
        printf '%s\n' "$bad" | sed 's/^/  SKIPPED AS ROOT /'
    fi
fi

read -r ut uf ue us < <(count bundles/*/target/surefire-reports/TEST-*.xml)
read -r it if_ ie is < <(count tests/target/test-reports/*/TEST-*.xml)
# no report at all (the build stopped before a module ran): zeros, not empty strings
ut=${ut:-0} uf=${uf:-0} ue=${ue:-0} us=${us:-0} it=${it:-0} if_=${if_:-0} ie=${ie:-0} is=${is:-0}
echo "unit tests (surefire):    $ut run, $((uf + ue)) failed, $us skipped"
echo "in-framework tests (bnd): $it run, $((if_ + ie)) failed, $is skipped"
echo "end-to-end checks:        $et run, $ef failed"
[ "$(id -u)" = 0 ] && echo "skipped as root:          $rs (counted as failed)"
passed=$((ut + it + et - uf - ue - if_ - ie - ef - us - is))
failed=$((uf + ue + if_ + ie + ef + rs)) # a test skipped as root is in the skipped counts too
status=0
if [ "$it" -eq 0 ]; then
    echo "run-all: the in-framework test run reported zero tests" >&2
    status=1
fi
[ "$mvn_status" -ne 0 ] && status=1
[ "$failed" -ne 0 ] && status=1
echo "$passed passed, $failed failed"
exit $status
