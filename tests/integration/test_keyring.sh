#!/bin/bash
# The keyring helper (nono-keyring) against a real gnome-keyring in a private D-Bus session:
# found (with and without target=default), not found, several matches, locked, no Secret
# Service, no session bus. Each test has a throwaway HOME and XDG_RUNTIME_DIR under $T.
. "$(dirname "$0")/lib.sh"

KEYRING=${NONO_KEYRING:-$BUILD/supervisor/nono-keyring}
PW=nono-test-password
SESSION_TIMEOUT=20

setup_keyring() {
	[ -x "$KEYRING" ] || fail "$KEYRING is missing (build first: ninja -C $BUILD)"
	local tool
	for tool in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
		command -v "$tool" >/dev/null ||
			fail "$tool is missing; hint: apt-get install gnome-keyring libsecret-tools dbus-daemon dbus-bin"
	done
	mkdir -p "$T/home" "$T/run" "$T/res"
	chmod 700 "$T/home" "$T/run"
	# A session bus with no service directories: nothing is activated behind our back, so
	# the only Secret Service is the one a test starts (and "none" stays none).
	bus_conf "$T/bus.conf" "$T/run"
}

# session MODE SCRIPT: run the sh SCRIPT in a fresh session bus. MODE: unlocked (gnome-keyring
# unlocked with $PW, creating the login keyring on first use), locked (gnome-keyring started
# without a password: an existing login keyring stays locked) or none (no Secret Service).
# In SCRIPT: store ACCOUNT VALUE [ATTR VALUE...], look ACCOUNT (results in $T/res), lock.
session() {
	local mode=$1 body=$2
	env -i PATH="$PATH" HOME="$T/home" XDG_RUNTIME_DIR="$T/run" NONO_IT_DIR="$T" T="$T" \
		KEYRING="$KEYRING" PW="$PW" MODE="$mode" KEYRING_READY="$LIB_DIR/keyring_ready.sh" \
		timeout -k 2 "$SESSION_TIMEOUT" dbus-run-session --config-file="$T/bus.conf" -- sh -c '
set -u
case $MODE in
unlocked) eval "$(printf %s "$PW" | gnome-keyring-daemon --unlock --components=secrets)" ;;
locked) eval "$(gnome-keyring-daemon --start --components=secrets)" ;;
esac
[ -z "${GNOME_KEYRING_CONTROL:-}" ] || export GNOME_KEYRING_CONTROL
if [ "$MODE" != none ]; then
	"$KEYRING_READY" || exit 92
fi
store() {	# ACCOUNT VALUE-AS-PRINTF-FORMAT [ATTR VALUE...]
	a=$1 v=$2
	shift 2
	printf "$v" | secret-tool store --label="nono: $a" service nono username "$a" "$@" ||
		{ echo "secret-tool store $a failed"; exit 90; }
}
look() {
	"$KEYRING" lookup "$1" >"$T/res/out.$1" 2>"$T/res/err.$1"
	echo $? >"$T/res/rc.$1"
}
lock() {
	dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
		org.freedesktop.Secret.Service.Lock \
		array:objpath:/org/freedesktop/secrets/collection/login >/dev/null ||
		{ echo "Lock failed"; exit 91; }
}
'"$body" >>"$T/session.log" 2>&1
	RC=$?
	[ "$RC" = 0 ] || fail "session ($mode) exited $RC: $(grep -v 'fd limit' "$T/session.log" | tail -n 5)"
}

# expect ACCOUNT RC [STDOUT-AS-PRINTF-FORMAT]: the lookup's exit code, and its exact output.
expect() {
	local got
	got=$(cat "$T/res/rc.$1")
	[ "$got" = "$2" ] || fail "lookup '$1': exit $got, expected $2; stderr: $(cat "$T/res/err.$1")"
	if [ $# -ge 3 ]; then
		# shellcheck disable=SC2059
		printf "$3" | cmp -s - "$T/res/out.$1" ||
			fail "lookup '$1': stdout $(od -An -c "$T/res/out.$1"), expected $(printf "$3" | od -An -c)"
		[ ! -s "$T/res/err.$1" ] || fail "lookup '$1': stderr on success: $(cat "$T/res/err.$1")"
	else
		[ ! -s "$T/res/out.$1" ] || fail "lookup '$1': stdout on failure: $(od -An -c "$T/res/out.$1")"
	fi
}

stderr_of() {
	cat "$T/res/err.$1"
}

# Processes of this test's sessions (their environment names our HOME) are gone within 5 s.
no_leftovers() {
	"$PY" - "HOME=$T/home" <<'EOF'
import os, sys
want = sys.argv[1].encode()
for p in os.listdir("/proc"):
    if p.isdigit() and int(p) != os.getpid():
        try:
            st = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[0]
            if st != "Z" and want in open("/proc/%s/environ" % p, "rb").read().split(b"\0"):
                sys.exit(1)
        except OSError:
            pass
EOF
}

assert_no_leftovers() {
	wait_for 5 no_leftovers || fail "processes of the keyring session still run: $(pgrep -a -f 'gnome-keyring|dbus-daemon')"
}

test_found_with_target_default() {
	setup_keyring
	session unlocked 'store openai sk-one target default; look openai'
	expect openai 0 'sk-one'
	assert_no_leftovers
}

test_found_without_target() {
	setup_keyring
	# secret-tool keeps a trailing newline: the helper passes the bytes as stored
	# (the supervisor strips one newline).
	session unlocked 'store github "sk-two\n"; store gitlab "sk three"; look github; look gitlab'
	expect github 0 'sk-two\n'
	expect gitlab 0 'sk three'
}

test_found_whatever_the_schema_name() {
	setup_keyring
	session unlocked 'store gemini sk-four xdg:schema io.example.Other target default; look gemini'
	expect gemini 0 'sk-four'
}

test_not_found() {
	setup_keyring
	session unlocked '
store openai sk-one target default
printf x | secret-tool store --label=x service other username anthropic
look anthropic; look Openai'
	expect anthropic 3
	assert_contains "no item with service=nono username=anthropic" "$(stderr_of anthropic)"
	expect Openai 3
}

test_several_matches() {
	setup_keyring
	# (without target first: secret-tool's store replaces items its attributes match)
	session unlocked 'store openai sk-a; store openai sk-b target default; look openai'
	expect openai 7
	assert_contains "2 items match" "$(stderr_of openai)"
	assert_no_line 'sk-[ab]' "$(stderr_of openai)"
}

test_locked_by_lock_call() {
	setup_keyring
	session unlocked 'store openai sk-one target default; look before; lock; look openai; look absent'
	expect before 3
	expect openai 4
	assert_contains "locked" "$(stderr_of openai)"
	# A locked keyring may hold any item: "locked" beats "not found".
	expect absent 4
	assert_contains "collection 'Login' is locked" "$(stderr_of absent)"
}

test_locked_after_restart() {
	setup_keyring
	session unlocked 'store openai sk-one target default'
	# The next login: the daemon starts, nobody types the password.
	session locked 'look openai'
	expect openai 4
	assert_no_line 'sk-one' "$(stderr_of openai)"
	# And with the password it opens again: the item was there all along.
	session unlocked 'look openai'
	expect openai 0 'sk-one'
	assert_no_leftovers
}

test_no_secret_service() {
	setup_keyring
	session none 'look openai'
	expect openai 6
	assert_contains "org.freedesktop.secrets" "$(stderr_of openai)"
}

test_no_session_bus() {
	setup_keyring
	run_split env -i HOME="$T/home" XDG_RUNTIME_DIR="$T/run" "$KEYRING" lookup openai
	assert_rc 5 "no bus address, no DISPLAY"
	assert_eq "" "$OUT" "stdout"
	assert_contains "autolaunch" "$ERR"
	run_split env -i HOME="$T/home" DBUS_SESSION_BUS_ADDRESS="unix:path=$T/run/gone" "$KEYRING" lookup openai
	assert_rc 5 "bus socket missing"
	assert_contains "Could not connect" "$ERR"
}

test_usage() {
	setup_keyring
	run "$KEYRING"
	assert_rc 2
	assert_contains "usage: nono-keyring lookup ACCOUNT" "$OUT"
	run "$KEYRING" lookup
	assert_rc 2
	run "$KEYRING" fetch openai
	assert_rc 2
	run "$KEYRING" lookup ""
	assert_rc 2
}

run_tests "$@"
