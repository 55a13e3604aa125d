# lib.sh: helpers for the integration tests; each test_*.sh sources it and ends with run_tests "$@".
#
# Every test is a shell function named test_*, run in its own bash process (under `timeout`)
# with its own temp dir $T. The runner prints "ok - NAME", "ok - NAME # SKIP reason" or
# "not ok - NAME: reason" (plus the test's output as "# " lines), then "N passed, N failed".
# Environment: BUILD (build dir, default <repo>/build), TEST_TIMEOUT (seconds per test),
# KEEP=1 (keep the temp dirs of failed tests), VERBOSE=1 (show output of passing tests too).

set -u

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$LIB_DIR/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
SUPERVISE=$BUILD/supervisor/nono-supervise
NONOCTL=$BUILD/supervisor/nonoctl
HELPER=$BUILD/tests/nono-test-helper
TEST_TIMEOUT=${TEST_TIMEOUT:-60}
if [ -x /usr/bin/python3 ]; then
	PY=/usr/bin/python3	# also usable by uid nobody (pyenv shims under /root are not)
else
	PY=python3
fi
unset NONO_SUPERVISE_SOCKET

# A log line's time stamp, as an ERE.
TS_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

# ---- assertions (only call these from the test's own shell, never inside $(...)) ----

fail() {
	printf '%s\n' "$*" >"$T/.reason"
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

skip() {
	printf '%s\n' "$*" >"$T/.reason"
	exit 77
}

assert_eq() {	# EXPECTED ACTUAL [WHAT]
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

assert_ne() {	# UNEXPECTED ACTUAL [WHAT]
	[ "$1" != "$2" ] || fail "${3:-value}: expected anything but '$1'"
}

assert_match() {	# ERE TEXT [WHAT]: TEXT as a whole matches ERE
	[[ $2 =~ $1 ]] || fail "${3:-text}: '$2' does not match /$1/"
}

assert_line() {	# ERE TEXT [WHAT]: some line of TEXT matches ERE
	printf '%s\n' "$2" | grep -Eq -- "$1" || fail "${3:-output}: no line matches /$1/ in: $2"
}

assert_no_line() {	# ERE TEXT [WHAT]
	! printf '%s\n' "$2" | grep -Eq -- "$1" || fail "${3:-output}: a line matches /$1/ in: $2"
}

assert_contains() {	# NEEDLE TEXT [WHAT]
	case $2 in
	*"$1"*) ;;
	*) fail "${3:-output}: '$1' not found in: $2" ;;
	esac
}

assert_rc() {	# EXPECTED [WHAT]: checks $RC from the last run
	if [ "$RC" != "$1" ]; then
		printf '%s\n' "$OUT" | sed 's/^/  | /' >&2
		fail "${2:-command}: exit $RC, expected $1; output: $(printf '%s\n' "$OUT" | tail -n 1)"
	fi
}

assert_le() {	# A B [WHAT]: integers, A <= B
	[ "$1" -le "$2" ] || fail "${3:-value}: expected $1 <= $2"
}

# ---- running things ----

# run CMD...: OUT = stdout+stderr, RC = exit status.
run() {
	OUT=$("$@" 2>&1)
	RC=$?
}

# run_split CMD...: OUT = stdout, ERR = stderr, RC.
run_split() {
	OUT=$("$@" 2>"$T/.stderr")
	RC=$?
	ERR=$(cat "$T/.stderr")
}

ctl() {
	"$NONOCTL" -S "$SOCK" "$@"
}

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((10#${t:0:-3}))
}

to_ms() {	# "2" "0.5" "1.25" -> milliseconds
	local s=$1 int frac
	int=${s%%.*}
	if [ "$int" = "$s" ]; then
		frac=0
	else
		frac=${s#*.}000
		frac=${frac:0:3}
	fi
	echo $((10#${int:-0} * 1000 + 10#$frac))
}

# wait_for SECS CMD...: poll CMD every 50 ms until it succeeds; 1 on timeout.
wait_for() {
	local deadline=$(($(now_ms) + $(to_ms "$1")))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# Remember a pid for the cleanup.
track() {
	echo "$1" >>"$T/.pids"
}

# bg OUTFILE CMD...: run in the background, output to OUTFILE; BG_PID = its pid.
bg() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 &
	BG_PID=$!
	track "$BG_PID"
}

# ---- processes ----

proc_state() {	# PID -> one-letter state, empty if gone
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	echo "${stat%% *}"
}

pid_alive() {	# zombies count as gone
	local s
	s=$(proc_state "$1")
	[ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}

pid_gone() {
	! pid_alive "$1"
}

all_gone() {	# PID...
	local p
	for p in "$@"; do
		pid_alive "$p" && return 1
	done
	return 0
}

# ---- the daemon ----

# write_ini [FILE] < body: the [supervisor] section for this test's dir, then the body, with
# "env = NONO_IT_DIR=$T" added to every service so the cleanup can find strays (the daemon
# gives services a clean environment). Tests that check line numbers write their file as is.
# These suites test the supervisor core: a service that names no profile gets
# "sandbox = off" (unless IT_SANDBOX=on); the sandbox itself is tested by tests/probes.
# bus_conf FILE RUNDIR: a session bus configuration listening in RUNDIR with no service
# directories, so nothing is activated behind a test's back (the keyring tests start their own).
bus_conf() {
	cat >"$1" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$2</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
}

write_ini() {
	local file=${1:-$INI}
	{
		printf '[supervisor]\nsocket = %s\nlog_dir = %s\n\n' "$SOCK" "$LOGDIR"
		awk -v mark="env = NONO_IT_DIR=$T" -v sb="${IT_SANDBOX:-off}" '
			{ line[NR] = $0 }
			/^\[service:/ { sec = NR }
			/^profile[ \t]*=/ && sec { profiled[sec] = 1 }
			END {
				for (i = 1; i <= NR; i++) {
					print line[i]
					if (line[i] !~ /^\[service:/)
						continue
					print mark
					if (sb != "on" && !profiled[i])
						print "sandbox = off"
				}
			}'
	} >"$file"
}

daemon_ready() {
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		wait "$DAEMON_PID" 2>/dev/null
		fail "daemon exited early (status $?): $(tail -n 20 "$T/daemon.err")"
	fi
	[ -S "$SOCK" ] && "$NONOCTL" -S "$SOCK" version >/dev/null 2>&1
}

# start_daemon [INI]: run nono-supervise -f in the background, wait (5 s) for its socket.
# It runs in $T/daemon-cwd: a directory of its own (not the ini's), inside the test dir.
start_daemon() {
	local ini=${1:-$INI}
	mkdir -p "$T/daemon-cwd"
	(cd "$T/daemon-cwd" && exec "$SUPERVISE" -f "$ini" >"$T/daemon.out" 2>"$T/daemon.err") &
	DAEMON_PID=$!
	track "$DAEMON_PID"
	echo "$DAEMON_PID" >"$T/.daemon"
	echo "$DAEMON_PID" >>"$T/.daemons"
	wait_for 5 daemon_ready || fail "no control socket $SOCK after 5s: $(tail -n 20 "$T/daemon.err")"
}

# wait_daemon_exit SECS: DAEMON_RC = the daemon's exit status; fails on timeout.
wait_daemon_exit() {
	wait_for "$1" eval '! kill -0 "$DAEMON_PID" 2>/dev/null' ||
		fail "daemon still running ${1}s later"
	wait "$DAEMON_PID"
	DAEMON_RC=$?
}

# ---- service status (through nonoctl status --json) ----

# svc_field NAME FIELD[.SUB]: prints the value (strings bare, null as "null", others as JSON).
svc_field() {
	ctl status --json 2>/dev/null | "$PY" -c '
import json, sys
name, field = sys.argv[1], sys.argv[2]
data = json.load(sys.stdin)
if isinstance(data, dict):
    data = data.get("services", [])
for s in data:
    if s.get("name") == name:
        v = s
        for part in field.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        if v is None:
            print("null")
        elif isinstance(v, str):
            print(v)
        else:
            print(json.dumps(v))
        sys.exit(0)
sys.exit(1)
' "$1" "$2"
}

svc_state() {
	svc_field "$1" state
}

svc_pid() {
	svc_field "$1" pid
}

state_is() {	# NAME STATE
	[ "$(svc_state "$1")" = "$2" ]
}

# wait_state SECS NAME STATE: fails with the status output on timeout.
wait_state() {
	wait_for "$1" state_is "$2" "$3" ||
		fail "service '$2' not $3 after $1s: $(ctl status "$2" 2>&1); log: $(tail -n 5 "$LOGDIR/$2.log" 2>/dev/null)"
}

# wait_running SECS NAME: RUNNING, then PID = its pid (a live process).
wait_running() {
	wait_state "$1" "$2" RUNNING
	PID=$(svc_pid "$2")
	[[ $PID =~ ^[0-9]+$ ]] || fail "service '$2' is RUNNING with pid '$PID'"
	pid_alive "$PID" || fail "service '$2' is RUNNING with pid $PID, but that process is gone"
}

# ---- logs ----

log_of() {
	echo "$LOGDIR/$1.log"
}

# log_has NAME ERE: some line of the service's log matches ERE (after the time stamp).
log_has() {
	[ -f "$LOGDIR/$1.log" ] && grep -Eq -- "^$TS_RE $2" "$LOGDIR/$1.log"
}

wait_log() {	# SECS NAME ERE
	wait_for "$1" log_has "$2" "$3" ||
		fail "log of '$2' has no line /$3/ after $1s: $(tail -n 10 "$LOGDIR/$2.log" 2>/dev/null)"
}

# log_events NAME: the supervisor's own lines ("started pid N", ...), time stamps removed.
log_events() {
	sed -nE "s/^$TS_RE nono //p" "$LOGDIR/$1.log" 2>/dev/null
}

# log_text NAME TAG: the text of the service's out/err lines.
log_text() {
	sed -nE "s/^$TS_RE $2 //p" "$LOGDIR/$1.log" 2>/dev/null
}

# ---- raw control protocol ----

# raw_request JSON...: one connection, each argument sent as one line; prints each reply line.
raw_request() {
	"$PY" - "$SOCK" "$@" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rb")
for req in sys.argv[2:]:
    s.sendall(req.encode() + b"\n")
    line = f.readline()
    if not line:
        print("<closed>")
        sys.exit(0)
    sys.stdout.write(line.decode(errors="replace"))
EOF
}

# json_get JSON EXPR: evaluate a python expression over `d` (the parsed JSON).
json_get() {
	"$PY" -c '
import json, sys
d = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))
' "$1" "$2"
}

# ---- a TLS fake upstream (tests/fixtures/fake_upstream.mjs) and its throwaway CA ----
# The caller sets PKI (the CA and the server's certificate) and UP_DIR (each upstream's port,
# log and output files).

# make_pki CN: a CA named CN and a certificate for IP 127.0.0.1, in $PKI (mode 755): ca.pem
# readable by all, the keys 0600. openssl's output goes to $PKI.log.
make_pki() {
	mkdir -p "$PKI"
	(
		cd "$PKI" &&
			openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout ca.key -out ca.pem -days 2 -subj "/CN=$1" -config /dev/null \
				-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout srv.key -out srv.csr -subj /CN=127.0.0.1 -config /dev/null &&
			printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext &&
			openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 \
				-extfile ext -out srv.pem
	) >"$PKI.log" 2>&1 || fail "openssl: $(tail -n 3 "$PKI.log")"
	chmod 755 "$PKI"
	chmod 600 "$PKI/ca.key" "$PKI/srv.key"
	chmod 644 "$PKI/ca.pem"
}

# fake_upstream NAME DELAY_MS: the fake upstream on 127.0.0.1 with $PKI's certificate,
# DELAY_MS between its stream events, logging to $UP_DIR/NAME.log (UP_DIR 0700); UP_PORT = its port.
fake_upstream() {
	mkdir -p "$UP_DIR"
	chmod 700 "$UP_DIR"
	"$NODE" "$ROOT/tests/fixtures/fake_upstream.mjs" "$UP_DIR/$1.port" "$UP_DIR/$1.log" \
		"$PKI/srv.pem" "$PKI/srv.key" "$2" >"$UP_DIR/$1.out" 2>&1 &
	track $!
	disown $!	# killed by the cleanup, without a "Killed" line from bash
	wait_for 5 test -s "$UP_DIR/$1.port" || fail "upstream '$1' did not start: $(cat "$UP_DIR/$1.out")"
	UP_PORT=$(cat "$UP_DIR/$1.port")
	touch "$UP_DIR/$1.log"
}

# up_eval NAME EXPR: a python expression over R, the requests upstream NAME received (dicts:
# method, path, headers, body), and C, its number of TCP connections.
up_eval() {
	"$PY" - "$UP_DIR/$1.log" "$2" <<-'PY'
	import json, sys
	recs = [json.loads(l) for l in open(sys.argv[1])]
	R = [r for r in recs if r["event"] == "request"]
	C = sum(r["event"] == "connection" for r in recs)
	v = eval(sys.argv[2])
	print(v if isinstance(v, str) else json.dumps(v))
	PY
}

# ---- a plain-HTTP upstream for the proxy ----

# plain_upstream [BODY]: tests/fixtures/plain_upstream.py on 127.0.0.1, its port in
# $T/upstream.port, each request a JSON line in $T/upstream.log; answers BODY (JSON).
plain_upstream() {
	"$PY" "$ROOT/tests/fixtures/plain_upstream.py" "$T/upstream.port" "$T/upstream.log" "$@" &
	track "$!"
	wait_for 5 test -s "$T/upstream.port" || fail "upstream did not start"
}

# ---- kernel audit (where Landlock names what it refused) ----

# _audit [0|1]: print the kernel's audit state (0 off, 1 on); with an argument, set it first.
# Root only (CAP_AUDIT_CONTROL).
_audit() {
	"$PY" "$ROOT/tests/kernel_audit.py" "$@"
}

# kernel_audit on|off: turn kernel audit on or off for this test; the runner puts back what
# was there before once the test ends (tests run one at a time).
kernel_audit() {
	local want=1 now
	[ "$1" = off ] && want=0
	[ -f "$T/.audit_was" ] || _audit >"$T/.audit_was" || fail "cannot read the kernel's audit state"
	now=$(_audit "$want") || fail "cannot turn kernel audit $1"
	[ "$now" = "$want" ] || fail "kernel audit is $now after setting it to $want"
}

# ---- cleanup ----

# The cgroup2 directory the daemon makes its nono-supervise.PID instance under (ours).
cgroup_base() {
	local mnt own
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	echo "$mnt${own%/}"
}

# Kill every process that belongs to test dir $1: the daemon (TERM, then KILL), tracked pids,
# and anything whose cwd, command line or environment mentions the dir.
cleanup_dir() {
	local dir=$1 p d
	if [ -f "$dir/.daemon" ]; then
		d=$(cat "$dir/.daemon")
		if kill -0 "$d" 2>/dev/null; then
			kill -TERM "$d" 2>/dev/null
			for _ in $(seq 1 100); do
				kill -0 "$d" 2>/dev/null || break
				sleep 0.05
			done
			kill -KILL "$d" 2>/dev/null
		fi
	fi
	# whatever is left in the cgroups of this test's daemons (a SIGKILLed daemon leaves them)
	local cg
	if [ -f "$dir/.daemons" ]; then
		while read -r d; do
			cg=$(cgroup_base)/nono-supervise.$d
			[ -d "$cg" ] || continue
			kill -0 "$d" 2>/dev/null && continue
			for p in $(cat "$cg"/*/cgroup.procs "$cg"/cgroup.procs 2>/dev/null); do
				echo "cleanup: killing process $p left in $cg"
				kill -KILL "$p" 2>/dev/null
			done
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				rmdir "$cg"/*/ "$cg" 2>/dev/null
				[ -d "$cg" ] || break
				sleep 0.05
			done
		done <"$dir/.daemons"
	fi
	if [ -f "$dir/.pids" ]; then
		while read -r p; do
			[ "$p" != "$$" ] && kill -KILL "$p" 2>/dev/null
		done <"$dir/.pids"
	fi
	"$PY" - "$dir" "$$" "${BASHPID:-$$}" <<'EOF'
import os, signal, sys
d, skip = sys.argv[1], {int(sys.argv[2]), int(sys.argv[3]), os.getpid()}
marker = ("NONO_IT_DIR=" + d).encode()
for p in os.listdir("/proc"):
    if not p.isdigit() or int(p) in skip:
        continue
    try:
        cwd = os.readlink("/proc/%s/cwd" % p)
    except OSError:
        cwd = ""
    try:
        cmd = open("/proc/%s/cmdline" % p, "rb").read()
        env = open("/proc/%s/environ" % p, "rb").read().split(b"\0")
    except OSError:
        continue
    if cwd == d or cwd.startswith(d + "/") or d.encode() in cmd or marker in env:
        print("cleanup: killing leftover process %s: %s" % (p, cmd.replace(b"\0", b" ").decode(errors="replace")))
        try:
            os.kill(int(p), signal.SIGKILL)
        except OSError:
            pass
EOF
}

# ---- the runner ----

_run_body() {
	local name=$1
	SOCK=$T/ctl.sock
	LOGDIR=$T/logs
	INI=$T/services.ini
	DAEMON_PID=
	export NONO_IT_DIR=$T
	trap 'cleanup_dir "$T" >&2' EXIT
	cd "$ROOT" || exit 1
	"$name"
	exit 0
}

run_tests() {
	if [ -n "${NONO_IT_ONE:-}" ]; then
		_run_body "$NONO_IT_ONE"
	fi
	local script=$0 name names=() passed=0 failed=0 skipped=0 rc t reason want
	local start
	script=$(cd "$(dirname "$script")" && pwd)/$(basename "$script")
	for name in $(grep -oE '^test_[A-Za-z0-9_]+\(\)' "$script" | tr -d '()'); do
		if [ $# -gt 0 ]; then
			for want in "$@"; do
				[[ $name == *"$want"* ]] && names+=("$name") && break
			done
		else
			names+=("$name")
		fi
	done
	for b in "$SUPERVISE" "$NONOCTL" "$HELPER"; do
		if [ ! -x "$b" ]; then
			echo "not ok - $(basename "$script" .sh): $b is missing (build first: ninja -C $BUILD)"
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
	for name in "${names[@]}"; do
		t=$(mktemp -d /tmp/nono-it.XXXXXX)
		start=$(now_ms)
		NONO_IT_ONE=$name T=$t timeout -k 5 "$TEST_TIMEOUT" bash "$script" >"$t/.log" 2>&1
		rc=$?
		cleanup_dir "$t" >>"$t/.log" 2>&1
		if [ -s "$t/.audit_was" ]; then
			_audit "$(cat "$t/.audit_was")" >/dev/null || echo "# could not put kernel audit back"
		fi
		reason=$(head -n 1 "$t/.reason" 2>/dev/null)
		case $rc in
		0)
			passed=$((passed + 1))
			echo "ok - $name"
			;;
		77)
			skipped=$((skipped + 1))
			echo "ok - $name # SKIP $reason"
			;;
		124 | 137)
			failed=$((failed + 1))
			echo "not ok - $name: timed out after ${TEST_TIMEOUT}s"
			;;
		*)
			failed=$((failed + 1))
			echo "not ok - $name: ${reason:-exit status $rc}"
			;;
		esac
		if [ "$rc" != 0 ] && [ "$rc" != 77 ] || [ -n "${VERBOSE:-}" ]; then
			echo "#   ($(($(now_ms) - start)) ms) output:"
			tail -n 40 "$t/.log" | sed 's/^/#   /'
			if [ -s "$t/daemon.err" ]; then
				echo "#   daemon stderr (last 15 lines):"
				tail -n 15 "$t/daemon.err" | sed 's/^/#   /'
			fi
		fi
		if [ -n "${KEEP:-}" ] && [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
			echo "#   kept $t"
		else
			rm -rf "$t"
		fi
	done
	[ "$skipped" -gt 0 ] && echo "# $skipped skipped"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
