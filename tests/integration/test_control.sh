#!/usr/bin/env bash
# test_control.sh: the control socket: permissions, peer uid check, malformed input, limits.
. "$(dirname "$0")/lib.sh"

two_services() {
	write_ini <<EOF
[service:a]
command = $HELPER sleep
start_secs = 100ms

[service:b]
command = $HELPER sleep
start_secs = 100ms
EOF
	start_daemon
	wait_running 5 a
	PA=$PID
	wait_running 5 b
	PB=$PID
}

still_serving() {
	run ctl status
	assert_rc 0 "nonoctl status afterwards"
	assert_eq "$PA" "$(svc_pid a)" "pid of a afterwards"
	assert_eq "$PB" "$(svc_pid b)" "pid of b afterwards"
	kill -0 "$DAEMON_PID" || fail "daemon died"
}

as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

test_socket_mode() {
	two_services
	assert_eq 600 "$(stat -c %a "$SOCK")" "mode of $SOCK"
	assert_eq "$(id -u)" "$(stat -c %u "$SOCK")" "owner of $SOCK"
}

# A python client run as another user; prints "closed", "reply JSON" or "error ERRNO-NAME".
OTHER_CLIENT='
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
    s.sendall(b"{\"cmd\":\"status\"}\n")
    data = s.makefile("rb").readline()
except OSError as e:
    print("error", errno.errorcode.get(e.errno, e.errno) if e.errno else type(e).__name__)
    sys.exit(0)
print("reply " + data.decode().strip() if data else "closed")
'

test_other_uid_blocked_by_mode() {
	[ "$(id -u)" = 0 ] || skip "needs root to run a client as nobody"
	command -v setpriv >/dev/null || skip "no setpriv"
	two_services
	chmod 0755 "$T"
	run as_nobody "$PY" -c "$OTHER_CLIENT" "$SOCK"
	assert_eq "error EACCES" "$OUT" "connect as nobody to a 0600 socket"
	still_serving
}

test_other_uid_refused_by_peer_check() {
	[ "$(id -u)" = 0 ] || skip "needs root to run a client as nobody"
	command -v setpriv >/dev/null || skip "no setpriv"
	two_services
	chmod 0755 "$T"
	chmod 0666 "$SOCK"	# take the file mode out of the way: SO_PEERCRED must still refuse
	run as_nobody "$PY" -c "$OTHER_CLIENT" "$SOCK"
	echo "client as nobody: $OUT"
	case $OUT in
	closed | "error ECONNRESET" | "error EPIPE") ;;
	"reply "*)
		assert_eq false "$(json_get "${OUT#reply }" 'd.get("ok")')" "ok in the reply to uid nobody: $OUT"
		assert_contains "permission denied" "$(json_get "${OUT#reply }" 'd.get("error", "")')" "error"
		;;
	*) fail "client as nobody: $OUT" ;;
	esac
	run as_nobody "$NONOCTL" -S "$SOCK" stop a
	echo "nonoctl as nobody: $OUT"
	assert_rc 1 "nonoctl stop a as nobody"
	chmod 0600 "$SOCK"
	still_serving
}

test_malformed_input() {
	two_services
	run "$PY" - "$SOCK" <<'EOF'
import json, socket, sys, time
path = sys.argv[1]
problems = []
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s, s.makefile("rb")
def reply(f):
    line = f.readline()
    if not line:
        return None
    try:
        return json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise AssertionError("reply is not valid UTF-8 (so not JSON): %r" % line)
    except ValueError:
        raise AssertionError("reply is not JSON: %r" % line)
def check_error(name, data, allow_close=True):
    try:
        _check_error(name, data, allow_close)
    except (AssertionError, OSError) as e:
        print("PROBLEM %s: %s" % (name, e))
        problems.append(name)
def _check_error(name, data, allow_close):
    s, f = conn()
    s.sendall(data)
    try:
        r = reply(f)
    except (ConnectionResetError, BrokenPipeError):
        r = None
    if r is None:
        assert allow_close, "connection closed without a reply"
        print("%s: closed" % name)
        return None
    assert r.get("ok") is False, "reply %r" % r
    assert isinstance(r.get("error"), str) and r["error"], "no error message in %r" % r
    print("%s: %s" % (name, r["error"]))
    # the connection is either closed or still usable
    try:
        s.sendall(b'{"cmd":"status"}\n')
        r2 = reply(f)
    except (ConnectionResetError, BrokenPipeError):
        r2 = None
    assert r2 is None or r2.get("ok") is True, "follow-up status got %r" % r2
    s.close()

check_error("garbage", b"garbage\n")
check_error("not an object", b"[1,2,3]\n")
check_error("no cmd", b'{"names":["a"]}\n')
check_error("cmd not a string", b'{"cmd":42}\n')
check_error("unknown cmd", b'{"cmd":"frobnicate"}\n')
check_error("names not a list", b'{"cmd":"status","names":"a"}\n')
check_error("names with a number", b'{"cmd":"stop","names":[1]}\n')
check_error("empty line", b"\n")
check_error("nul bytes", b'{"cmd":"st\x00atus"}\n')
check_error("invalid utf-8", b'{"cmd":"\xff\xfe"}\n')
check_error("deep nesting", b"[" * 5000 + b"]" * 5000 + b"\n")

# 100 KB without a newline: an error or a close, within 5 s
s, f = conn()
try:
    s.sendall(b"x" * 100000)
    r = reply(f)
except (ConnectionResetError, BrokenPipeError):
    r = None
except socket.timeout:
    raise AssertionError("100 KB line: no reply and no close within 5s")
assert r is None or r.get("ok") is False, "100 KB line: %r" % r
print("100 KB line:", "closed" if r is None else r["error"])
s.close()

# a request over CONTROL_LINE_MAX that is valid JSON
s, f = conn()
try:
    s.sendall(b'{"cmd":"status","names":["' + b"a" * 70000 + b'"]}\n')
    r = reply(f)
except (ConnectionResetError, BrokenPipeError):
    r = None
assert r is None or r.get("ok") is False, "70 KB request: %r" % r
s.close()

# half a message, then disconnect; and a connect-close
s, f = conn()
s.sendall(b'{"cmd":"sta')
s.close()
s, f = conn()
s.close()

# one valid request still works
s, f = conn()
s.sendall(b'{"cmd":"status"}\n')
r = reply(f)
assert r and r.get("ok") is True and len(r.get("services", [])) == 2, "status: %r" % r
print("status ok")
assert not problems, "problems with: %s" % ", ".join(problems)
EOF
	assert_rc 0 "malformed control input"
	still_serving
}

test_unknown_name_raw() {
	two_services
	local reply
	reply=$(raw_request '{"cmd":"status","names":["a","zz"]}')
	assert_eq false "$(json_get "$reply" 'd["ok"]')" "ok"
	assert_eq "unknown service 'zz'" "$(json_get "$reply" 'd["error"]')" "error"
	reply=$(raw_request '{"cmd":"status","names":["a"]}')
	assert_eq '["a"]' "$(json_get "$reply" '[s["name"] for s in d["services"]]')" "services"
	reply=$(raw_request '{"cmd":"stop","names":["a","zz"],"wait":true,"timeout_ms":5000}')
	assert_eq false "$(json_get "$reply" 'd["ok"]')" "ok"
	assert_eq RUNNING "$(svc_state a)" "state of a after a refused stop"
}

test_nonoctl_socket_sources() {
	two_services
	run "$NONOCTL" -c "$INI" status a
	assert_rc 0 "nonoctl -c INI status a"
	assert_match "^a +RUNNING +pid $PA," "$OUT" "status line"
	run env NONO_SUPERVISE_SOCKET="$SOCK" "$NONOCTL" status b
	assert_rc 0 "NONO_SUPERVISE_SOCKET=... nonoctl status b"
	assert_match "^b +RUNNING +pid $PB," "$OUT" "status line"
}

test_version() {
	two_services
	local reply
	reply=$(raw_request '{"cmd":"version"}')
	assert_eq true "$(json_get "$reply" 'd["ok"]')" "ok"
	assert_match '^[0-9]+\.[0-9]+\.[0-9]+' "$(json_get "$reply" 'd["version"]')" "version"
	run ctl version
	assert_rc 0 "nonoctl version"
	assert_contains "$(json_get "$reply" 'd["version"]')" "$OUT" "nonoctl version output"
}

test_pipelined_requests() {
	two_services
	run raw_request '{"cmd":"version"}' '{"cmd":"status","names":["b"]}'
	assert_rc 0 "two requests on one connection"
	assert_eq 2 "$(printf '%s\n' "$OUT" | grep -c '"ok":\s*true')" "replies: $OUT"
}

test_many_clients() {
	two_services
	run "$PY" - "$SOCK" <<'EOF'
import socket, sys
held = []
for i in range(100):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(sys.argv[1])
    except OSError as e:
        print("connect %d: %s" % (i, e))
        break
    held.append(s)
print("held", len(held))
for s in held:
    s.close()
EOF
	assert_rc 0 "100 idle connections"
	wait_for 3 eval 'ctl status >/dev/null 2>&1' || fail "status fails after the idle connections closed"
	still_serving
}

test_idle_client_does_not_block() {
	two_services
	# one client connects and sends half a request, then waits: others must still be served
	bg "$T/idle.out" "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); s.sendall(b"{\"cmd\":"); time.sleep(30)' "$SOCK"
	sleep 0.2
	local t0 dt
	t0=$(now_ms)
	run ctl status
	dt=$(($(now_ms) - t0))
	assert_rc 0 "nonoctl status while another client idles"
	[ "$dt" -lt 1000 ] || fail "status took $dt ms while another client idles"
	run ctl restart a
	assert_rc 0 "nonoctl restart while another client idles"
}

# nonoctl audit verify / logs --audit over an audit log written as the proxy writes it.
test_audit_verify_and_filter() {
	printf '[service:web]\ncommand = %s sleep\n[service:api]\ncommand = %s sleep\n' "$HELPER" "$HELPER" | write_ini
	start_daemon
	"$PY" - "$LOGDIR/audit.ndjson" <<-'PY'
	import hashlib, json, sys
	prev = "0" * 64
	with open(sys.argv[1], "w") as f:
	    for i, svc in enumerate(["web", "api", "web"]):
	        rec = {"time": "2026-12-04T19:39:2%d.123Z" % i, "service": svc, "session": "1a2b3c4d",
	               "kind": "reverse", "method": "POST", "host": "api.openai.com",
	               "path": "/v1/chat/completions", "status": 200, "bytes_in": 10, "bytes_out": 20,
	               "duration_ms": 5, "decision": "allow", "reason": "", "prev": prev}
	        line = json.dumps(rec, separators=(",", ":"))
	        f.write(line + "\n")
	        prev = hashlib.sha256(line.encode()).hexdigest()
	PY
	run ctl audit verify
	assert_rc 0 "audit verify"
	assert_eq "$LOGDIR/audit.ndjson: 3 records, hash chain intact" "$OUT" "verify output"
	run ctl logs --audit web
	assert_rc 0 "logs --audit"
	assert_eq 2 "$(grep -c '"service":"web"' <<<"$OUT")" "web's records"
	assert_eq 0 "$(grep -c '"service":"api"' <<<"$OUT")" "api's records"
	sed -i '2s/"status":200/"status":201/' "$LOGDIR/audit.ndjson"	# tamper with record 2
	run ctl audit verify
	assert_rc 1 "audit verify after tampering"
	assert_match ".*line 3: prev does not match the hash of line 2.*" "$OUT" "names the broken link"
}

run_tests "$@"
