#!/usr/bin/env bash
# test_credentials.sh: nonoctl credentials: each [credential:NAME] of the running configuration
# with its source, route, services and the state of its key (file, env, keyring against a
# real gnome-keyring in a private D-Bus session), never the key; reload; bad and concurrent
# requests.
. "$(dirname "$0")/lib.sh"

PW=nono-test-password
SESSION_TIMEOUT=50

# new_key FILE: a fresh random key in FILE (mode 0600); KEY = its value.
new_key() {
	KEY=sk-test-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	(umask 077 && printf '%s\n' "$KEY" >"$1")
}

# cred_field NAME FIELD: one field of NAME's entry in `nonoctl credentials --json` (strings
# bare, others as JSON).
cred_field() {
	ctl credentials --json 2>/dev/null | "$PY" -c '
import json, sys
for c in json.load(sys.stdin):
    if c["name"] == sys.argv[1]:
        v = c[sys.argv[2]]
        print(v if isinstance(v, str) else json.dumps(v))
        sys.exit(0)
sys.exit(1)
' "$1" "$2"
}

# no_key_anywhere KEY...: none of the values in `nonoctl credentials` (table or JSON), $OUT,
# the daemon's output or its log directory.
no_key_anywhere() {
	local k table json
	table=$(ctl credentials 2>&1)
	json=$(ctl credentials --json 2>&1)
	for k in "$@"; do
		assert_no_line "$k" "$OUT" "nonoctl output"
		assert_no_line "$k" "$table" "nonoctl credentials"
		assert_no_line "$k" "$json" "nonoctl credentials --json"
		! grep -rqF -- "$k" "$T/daemon.out" "$T/daemon.err" "$LOGDIR" 2>/dev/null ||
			fail "the key '$k' is in the daemon's logs: $(grep -rlF -- "$k" "$T/daemon.out" "$T/daemon.err" "$LOGDIR")"
	done
}

# aligned LINES: the columns (runs of 3+ spaces split them) start at the same place on every
# line, the reason column on the lines that have one.
aligned() {
	"$PY" - "$1" <<'EOF' || fail "columns not aligned: $1"
import re, sys
starts = {}
for line in sys.argv[1].splitlines():
    for i, m in enumerate(re.finditer(r"(?:^|   +)(\S)", line)):
        starts.setdefault(i, set()).add(m.start(1))
sys.exit(0 if all(len(v) == 1 for v in starts.values()) else 1)
EOF
}

# Four file and env credentials, two services using some of them; KEY is the real key.
files_ini() {
	new_key "$T/key"
	printf 'sk-open-%s\n' "$RANDOM$RANDOM" >"$T/open.key"
	chmod 0644 "$T/open.key"
	write_ini <<EOF
[credential:openai]
source = file:$T/key

[credential:anthropic]
source = file:$T/absent.key

[credential:github]
source = file:open.key

[credential:local]
source = env:NONO_TEST_ENV_KEY
upstream = http://127.0.0.1:9/api

[service:agent]
command = $HELPER sleep
credentials = openai, github
autostart = false

[service:planner]
command = $HELPER sleep
credentials = openai, local
autostart = false
EOF
}

test_states_table() {
	files_ini
	export NONO_TEST_ENV_KEY=sk-env-$RANDOM$RANDOM
	start_daemon
	run_split ctl credentials
	assert_rc 3 "nonoctl credentials with a key missing"
	assert_eq "" "$ERR" "stderr"
	assert_eq 4 "$(printf '%s\n' "$OUT" | wc -l)" "lines: $OUT"
	# columns: NAME SOURCE STATE SERVICES, then the reason
	assert_line "^openai +file:$T/key +loaded +agent,planner$" "$OUT"
	assert_line "^anthropic +file:$T/absent.key +missing +- +file '$T/absent.key' does not exist; hint: write the key to it" "$OUT"
	assert_line "^github +file:open.key +too-open +agent +file '$T/open.key' is too open \(0644\); hint: chmod 600 $T/open.key$" "$OUT"
	assert_line "^local +env:NONO_TEST_ENV_KEY +loaded +planner$" "$OUT"
	aligned "$OUT"
	no_key_anywhere "$KEY" "$NONO_TEST_ENV_KEY" "$(cat "$T/open.key")"
}

test_json_fields() {
	files_ini
	export NONO_TEST_ENV_KEY=sk-env-$RANDOM$RANDOM
	start_daemon
	run_split ctl credentials --json
	assert_rc 3 "nonoctl credentials --json"
	"$PY" - "$OUT" "$T" <<'EOF' || fail "credentials --json: $OUT"
import json, sys
got, t = json.loads(sys.argv[1]), sys.argv[2]
absent = ("file '%s/absent.key' does not exist; hint: write the key to it, mode 0600 "
          "(umask 077; cat > %s/absent.key)" % (t, t))
want = [
    {"name": "openai", "source": "file:%s/key" % t, "route": "openai",
     "upstream": "https://api.openai.com/v1", "services": ["agent", "planner"],
     "state": "loaded", "reason": None},
    {"name": "anthropic", "source": "file:%s/absent.key" % t, "route": "anthropic",
     "upstream": "https://api.anthropic.com", "services": [], "state": "missing",
     "reason": absent},
    {"name": "github", "source": "file:open.key", "route": "github",
     "upstream": "https://api.github.com", "services": ["agent"], "state": "too-open",
     "reason": "file '%s/open.key' is too open (0644); hint: chmod 600 %s/open.key" % (t, t)},
    {"name": "local", "source": "env:NONO_TEST_ENV_KEY", "route": None,
     "upstream": "http://127.0.0.1:9/api", "services": ["planner"], "state": "loaded",
     "reason": None},
]
for g, w in zip(got, want):
    if g != w:
        print("got  %r\nwant %r" % (g, w))
assert got == want
# the key order is part of the format
assert [list(g) for g in got] == [list(w) for w in want], [list(g) for g in got]
EOF
	no_key_anywhere "$KEY" "$NONO_TEST_ENV_KEY"
}

test_env_missing_and_all_loaded() {
	new_key "$T/key"
	write_ini <<EOF
[credential:openai]
source = file:$T/key

[credential:anthropic]
source = env:NONO_TEST_ENV_KEY
EOF
	unset NONO_TEST_ENV_KEY
	start_daemon
	run ctl credentials
	assert_rc 3
	assert_line "^anthropic +env:NONO_TEST_ENV_KEY +missing +- +environment variable 'NONO_TEST_ENV_KEY' is not set; hint: " "$OUT"
	ctl shutdown >/dev/null || fail "shutdown"
	wait_daemon_exit 10
	export NONO_TEST_ENV_KEY=sk-env-$RANDOM$RANDOM
	start_daemon
	run ctl credentials
	assert_rc 0 "nonoctl credentials with every key loaded"
	assert_eq 2 "$(printf '%s\n' "$OUT" | grep -c ' loaded ')" "loaded lines: $OUT"
	no_key_anywhere "$KEY" "$NONO_TEST_ENV_KEY"
}

test_systemd_source() {
	mkdir -p "$T/creds"
	new_key "$T/creds/openai"
	write_ini <<EOF
[credential:openai]
source = systemd:openai

[credential:anthropic]
source = systemd:anthropic
EOF
	CREDENTIALS_DIRECTORY=$T/creds start_daemon
	run ctl credentials
	assert_rc 3
	assert_line "^openai +systemd:openai +loaded +-$" "$OUT"
	assert_line "^anthropic +systemd:anthropic +missing +- +systemd credential 'anthropic' \($T/creds/anthropic\) does not exist; hint: add LoadCredential=anthropic:" "$OUT"
	no_key_anywhere "$KEY"
}

test_invalid_key_not_echoed() {
	# a file with two lines is refused (header injection), and neither line is repeated
	(umask 077 && printf 'sk-first-line-%s\nsk-second-line-%s\n' "$RANDOM" "$RANDOM" >"$T/two.key")
	write_ini <<EOF
[credential:openai]
source = file:$T/two.key
EOF
	start_daemon
	run ctl credentials
	assert_rc 3
	assert_match "^openai +file:$T/two.key +invalid +- +file '$T/two.key' contains a line break" "$OUT"
	no_key_anywhere sk-first-line sk-second-line
}

test_no_credentials() {
	write_ini <<EOF
[service:a]
command = $HELPER sleep
autostart = false
EOF
	start_daemon
	run_split ctl credentials
	assert_rc 0 "no credentials"
	assert_eq "" "$OUT" "output"
	run_split ctl credentials --json
	assert_rc 0
	assert_eq "[]" "$OUT" "json"
}

test_reload_checks_the_new_configuration() {
	new_key "$T/key"
	write_ini <<EOF
[credential:openai]
source = file:$T/other.key

[service:agent]
command = $HELPER sleep
credentials = openai
autostart = false
EOF
	start_daemon
	assert_eq missing "$(cred_field openai state)" "state before"
	# the file appears: the next call sees it (every call checks anew)
	new_key "$T/other.key"
	assert_eq loaded "$(cred_field openai state)" "state once the file exists"
	write_ini <<EOF
[credential:openai]
source = file:$T/gone.key

[credential:anthropic]
source = file:$T/key

[service:agent]
command = $HELPER sleep
credentials = anthropic
autostart = false
EOF
	run ctl reload
	assert_rc 0 "reload"
	run ctl credentials
	assert_rc 3
	assert_match "^openai +file:$T/gone.key +missing +- +file '$T/gone.key' does not exist" \
		"$(printf '%s\n' "$OUT" | head -n 1)" "openai after the reload"
	assert_match "^anthropic +file:$T/key +loaded +agent$" \
		"$(printf '%s\n' "$OUT" | tail -n 1)" "anthropic after the reload"
	# a refused reload keeps the running configuration
	printf '[credential:x]\nsource = nonsense:1\n' >>"$INI"
	run ctl reload
	assert_rc 1 "reload of a broken file"
	run ctl credentials
	assert_eq 2 "$(printf '%s\n' "$OUT" | wc -l)" "credentials after a refused reload: $OUT"
	no_key_anywhere "$KEY"
}

test_route_that_does_not_resolve() {
	new_key "$T/key"
	write_ini <<EOF
[credential:mine]
source = file:$T/key

[credential:other]
source = file:$T/key
route = nosuch
EOF
	start_daemon
	run ctl credentials --json
	assert_rc 3
	assert_eq invalid "$(cred_field mine state)" "a loaded key without a route"
	assert_eq null "$(cred_field mine upstream)" "upstream"
	assert_contains "no built-in route of that name; hint: set route = one of openai" \
		"$(cred_field mine reason)" "reason"
	assert_contains "key 'route': no built-in route 'nosuch'" "$(cred_field other reason)"
	no_key_anywhere "$KEY"
}

test_bad_and_concurrent_requests() {
	files_ini
	start_daemon
	run ctl credentials extra
	assert_rc 1 "nonoctl credentials with an argument"
	assert_contains "'credentials' takes no arguments" "$OUT"
	# odd arguments are ignored; a cut request gets an error; the daemon goes on
	run raw_request '{"cmd":"credentials","names":5,"x":[1,{}]}' '{"cmd":"credentials"' \
		'{"cmd":"credentials"}'
	assert_rc 0 "raw requests"
	assert_eq 2 "$(printf '%s\n' "$OUT" | grep -c '"ok":true,"credentials":\[{"name":"openai"')" \
		"replies to two good requests: $OUT"
	assert_line '^\{"ok":false,"error":"bad request: not a JSON object"\}$' "$OUT"
	# pipelined behind a check: answered in order
	run raw_request '{"cmd":"credentials"}' '{"cmd":"version"}' '{"cmd":"credentials"}'
	assert_eq 3 "$(printf '%s\n' "$OUT" | wc -l)" "pipelined replies: $OUT"
	assert_match '^\{"ok":true,"credentials":\[' "$(sed -n 1p <<<"$OUT")" "first reply"
	assert_match '^\{"ok":true,"version":' "$(sed -n 2p <<<"$OUT")" "second reply"
	assert_match '^\{"ok":true,"credentials":\[' "$(sed -n 3p <<<"$OUT")" "third reply"
	# clients that leave before the answer
	"$PY" - "$SOCK" <<'EOF' || fail "clients that leave early"
import socket, sys
for i in range(20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.sendall(b'{"cmd":"credentials"}\n' * 3)
    s.close()
EOF
	# many at once: each gets its own answer
	local i pids=()
	for i in $(seq 1 16); do
		"$NONOCTL" -S "$SOCK" credentials --json >"$T/c.$i.out" 2>&1 &
		pids+=($!)
		track $!
	done
	wait "${pids[@]}"
	for i in $(seq 1 16); do
		assert_eq 4 "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/c.$i.out")" \
			"credentials in answer $i: $(cat "$T/c.$i.out")"
	done
	kill -0 "$DAEMON_PID" || fail "daemon died"
	run ctl status
	assert_rc 3 "status afterwards (services are stopped)"
	no_key_anywhere "$KEY"
}

test_shutdown_during_checks() {
	files_ini
	start_daemon
	local i rc
	for i in $(seq 1 8); do
		timeout 20 "$NONOCTL" -S "$SOCK" credentials >"$T/c.$i.out" 2>&1 &
		echo $! >"$T/c.$i.pid"
		track "$(cat "$T/c.$i.pid")"
	done
	ctl shutdown >/dev/null || fail "nonoctl shutdown"
	wait_daemon_exit 10
	assert_eq 0 "$DAEMON_RC" "daemon exit status"
	for i in $(seq 1 8); do
		wait "$(cat "$T/c.$i.pid")"
		rc=$?
		# an answer (3: a key is missing), "shutting down" or a closed connection: never a hang
		case $rc in
		1 | 3) ;;
		*) fail "nonoctl credentials $i during shutdown: exit $rc: $(cat "$T/c.$i.out")" ;;
		esac
	done
}

# ---- the keyring ----

setup_keyring() {
	local tool
	for tool in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
		command -v "$tool" >/dev/null ||
			fail "$tool is missing; hint: apt-get install gnome-keyring libsecret-tools dbus-daemon dbus-bin"
	done
	mkdir -p "$T/home" "$T/run"
	chmod 700 "$T/home" "$T/run"
	# as in test_keyring.sh: a session bus that activates nothing behind our back
	bus_conf "$T/bus.conf" "$T/run"
}

# keyring_daemon: in a fresh session bus, gnome-keyring unlocked with $PW holding item
# service=nono username=openai (the key in $T/kr.key), then the daemon on $INI; the bus
# address is in $T/bus.addr.
keyring_daemon() {
	new_key "$T/kr.key"
	env -i PATH="$PATH" HOME="$T/home" XDG_RUNTIME_DIR="$T/run" NONO_IT_DIR="$T" T="$T" \
		PW="$PW" SUPERVISE="$SUPERVISE" INI="$INI" KEYRING_READY="$LIB_DIR/keyring_ready.sh" \
		timeout -k 2 "$SESSION_TIMEOUT" dbus-run-session --config-file="$T/bus.conf" -- sh -c '
set -u
eval "$(printf %s "$PW" | gnome-keyring-daemon --unlock --components=secrets)"
[ -z "${GNOME_KEYRING_CONTROL:-}" ] || export GNOME_KEYRING_CONTROL
"$KEYRING_READY" || exit 92
secret-tool store --label="nono: openai" service nono username openai target default <"$T/kr.key" ||
	{ echo "secret-tool store failed"; exit 90; }
echo "$DBUS_SESSION_BUS_ADDRESS" >"$T/bus.addr"
echo $$ >"$T/.daemon"
echo $$ >>"$T/.daemons"
mkdir -p "$T/daemon-cwd" && cd "$T/daemon-cwd" || exit 93
exec "$SUPERVISE" -f "$INI" >"$T/daemon.out" 2>"$T/daemon.err"
' >"$T/session.log" 2>&1 &
	track $!
	wait_for 10 eval '[ -s "$T/bus.addr" ] && [ -S "$SOCK" ] && ctl version >/dev/null 2>&1' ||
		fail "no daemon in the keyring session after 10s: $(tail -n 5 "$T/session.log" "$T/daemon.err" 2>/dev/null)"
	DAEMON_PID=$(cat "$T/.daemon")
}

lock_keyring() {
	DBUS_SESSION_BUS_ADDRESS=$(cat "$T/bus.addr") dbus-send --session --print-reply \
		--dest=org.freedesktop.secrets /org/freedesktop/secrets \
		org.freedesktop.Secret.Service.Lock \
		array:objpath:/org/freedesktop/secrets/collection/login >/dev/null ||
		fail "locking the keyring failed"
}

test_keyring_loaded_missing_locked() {
	setup_keyring
	write_ini <<EOF
[credential:openai]
source = keyring:openai

[credential:anthropic]
source = keyring:anthropic

[service:agent]
command = $HELPER sleep
credentials = openai, anthropic
autostart = false
EOF
	keyring_daemon
	local key
	key=$(cat "$T/kr.key")
	run ctl credentials
	assert_rc 3
	assert_line "^openai      keyring:openai      loaded    agent$" "$OUT"
	assert_line "^anthropic   keyring:anthropic   missing   agent   keyring item service=nono username=anthropic not found; hint: secret-tool store " "$OUT"
	no_key_anywhere "$key"
	lock_keyring
	run ctl credentials --json
	assert_rc 3
	assert_eq locked "$(cred_field openai state)" "openai once the keyring is locked"
	assert_contains "keyring account 'openai': the keyring is locked" "$(cred_field openai reason)"
	# a locked keyring may hold any item: "locked" beats "not found"
	assert_eq locked "$(cred_field anthropic state)" "anthropic once the keyring is locked"
	run ctl credentials
	no_key_anywhere "$key"
	ctl shutdown >/dev/null || fail "shutdown"
	wait_for 10 eval '! kill -0 "$DAEMON_PID" 2>/dev/null' || fail "daemon still running 10s after shutdown"
}

test_keyring_no_bus() {
	setup_keyring
	write_ini <<EOF
[credential:openai]
source = keyring:openai
EOF
	mkdir -p "$T/empty-run" "$T/daemon-cwd"
	(cd "$T/daemon-cwd" && exec env -u DBUS_SESSION_BUS_ADDRESS -u DISPLAY \
		XDG_RUNTIME_DIR="$T/empty-run" HOME="$T/home" "$SUPERVISE" -f "$INI" \
		>"$T/daemon.out" 2>"$T/daemon.err") &
	DAEMON_PID=$!
	track "$DAEMON_PID"
	echo "$DAEMON_PID" >"$T/.daemon"
	wait_for 5 daemon_ready || fail "no control socket"
	run ctl credentials
	assert_rc 3
	assert_match "^openai +keyring:openai +no-bus +- +keyring account 'openai': no D-Bus session bus" "$OUT"
}

run_tests "$@"
