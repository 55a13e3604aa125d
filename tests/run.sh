#!/usr/bin/env bash
# run.sh: the whole test suite: build, criterion unit tests (meson suite 'unit'), then every
# tests/integration/test_*.sh and tests/probes/test_*.sh. Ends with "N passed, N failed";
# exits 0 only when nothing failed and something passed.
# Environment: BUILD (default <repo>/build; must be set up already), plus lib.sh's variables.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
export BUILD

passed=0
failed=0
logdir=$(mktemp -d /tmp/nono-run.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit
}

if [ ! -d "$BUILD" ]; then
	echo "not ok - build: $BUILD does not exist (meson setup $BUILD first)"
	failed=$((failed + 1))
	summary
fi

echo "# ninja -C $BUILD"
if ! ninja -C "$BUILD" >"$logdir/ninja.log" 2>&1; then
	sed 's/^/#   /' "$logdir/ninja.log" | tail -n 40
	echo "not ok - build: ninja -C $BUILD failed"
	failed=$((failed + 1))
	summary
fi

# ---- unit tests ----
# criterion prints "[====] Synthesis: Tested: N | Passing: N | Failing: N | Crashing: N" per
# binary; a binary that died before printing it counts as one failure.
echo "# meson test --suite unit"
meson test -C "$BUILD" --suite unit --no-rebuild --verbose --print-errorlogs >"$logdir/unit.log" 2>&1
unit_rc=$?
unit_tests=$(meson test -C "$BUILD" --suite unit --list --no-rebuild 2>/dev/null | grep -vc "^ninja:")
read -r u_pass u_fail u_synth < <(sed 's/\x1b\[[0-9;]*m//g' "$logdir/unit.log" | awk '
	/Synthesis: Tested:/ {
		n++
		for (i = 1; i <= NF; i++) {
			if ($i == "Passing:") p += $(i + 1)
			if ($i == "Failing:" || $i == "Crashing:") f += $(i + 1)
		}
	}
	END { printf "%d %d %d\n", p, f, n }')
# unit test binaries that ended without a synthesis line (crash, timeout, abort)
u_nosynth=0
if [ "$unit_tests" -gt "$u_synth" ]; then
	u_nosynth=$((unit_tests - u_synth))
fi
if [ "$unit_rc" -ne 0 ] && [ "$u_fail" -eq 0 ] && [ "$u_nosynth" -eq 0 ]; then
	u_nosynth=1	# meson failed with no failure visible in the synthesis lines
fi
grep -E '^ *[0-9]+/[0-9]+ ' "$logdir/unit.log" | sed 's/^/# /'
if [ "$u_fail" -gt 0 ] || [ "$u_nosynth" -gt 0 ] || [ "$unit_rc" -ne 0 ]; then
	sed 's/\x1b\[[0-9;]*m//g' "$logdir/unit.log" | grep -E '\[(FAIL|----)\]|Synthesis|Crash|Timeout|Exit|Error' |
		head -n 60 | sed 's/^/#   /'
fi
echo "# unit: $u_pass passed, $((u_fail + u_nosynth)) failed ($unit_tests test binaries, $u_synth reported)"
passed=$((passed + u_pass))
failed=$((failed + u_fail + u_nosynth))

# ---- integration tests and probes ----
for script in "$ROOT"/tests/integration/test_*.sh "$ROOT"/tests/probes/test_*.sh; do
	[ -f "$script" ] || continue
	name=${script#"$ROOT"/}
	echo "# $name"
	bash "$script" 2>&1 | tee "$logdir/script.log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logdir/script.log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - $name: ended without a summary line"
		failed=$((failed + 1))
		continue
	fi
	passed=$((passed + ${line%% passed*}))
	line=${line#*passed, }
	failed=$((failed + ${line%% failed}))
done

summary
