#!/usr/bin/env bash
# test_logs.sh: log capture (format, events, partial/long/binary lines), rotation, nonoctl logs.
. "$(dirname "$0")/lib.sh"

one_service() {	# COMMAND-ARGS [extra ini lines...]
	local cmd=$1
	shift
	{
		printf '[service:web]\ncommand = %s %s\nstart_secs = 100ms\n' "$HELPER" "$cmd"
		printf '%s\n' "$@"
	} | write_ini
	start_daemon
}

test_log_format() {
	one_service "print 3 30"
	wait_running 5 web
	wait_log 3 web 'out line 000003 '
	local f
	f=$(log_of web)
	run "$PY" - "$f" "$PID" <<'EOF'
import re, sys, datetime, time
path, pid = sys.argv[1], sys.argv[2]
lines = open(path, "rb").read().decode().split("\n")
assert lines[-1] == "", "log does not end with a newline"
lines = lines[:-1]
pat = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (out|err|nono) (.*)$")
outs, events = [], []
for l in lines:
    m = pat.match(l)
    assert m, "bad log line %r" % l
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    assert abs(t.timestamp() - time.time()) < 60, "time stamp %s is not now (UTC)" % m.group(1)
    (outs if m.group(2) == "out" else events).append(m.group(3))
want = ["line %06d " % i + "abcdefghijklmnopq" for i in (1, 2, 3)]
assert outs == want, "out lines %r, expected %r" % (outs, want)
assert events and events[0] == "started pid " + pid, "events %r" % events
print("format ok")
EOF
	assert_rc 0 "log file contents"
}

test_log_stderr() {
	one_service "stderr 'oops: on stderr'"
	wait_running 5 web
	wait_log 3 web 'err oops: on stderr$'
	assert_eq "" "$(log_text web out)" "out lines"
}

test_log_exit_code_event() {
	one_service "run-exit 0.3 3" "restart = never"
	wait_state 5 web EXITED
	wait_log 2 web 'nono exited with code 3$'
	local pid
	pid=$(log_events web | sed -n 's/^started pid //p')
	[[ $pid =~ ^[0-9]+$ ]] || fail "no 'started pid N' event: $(log_events web)"
}

test_log_sigkill_restart_events() {
	one_service "sleep" "restart_delay = 1s"
	wait_running 5 web
	local old=$PID
	kill -KILL "$PID"
	wait_log 3 web 'nono killed by signal SIGKILL$'
	wait_log 2 web 'nono restarting in 1s$'
	wait_running 5 web
	assert_ne "$old" "$PID" "pid after the restart"
	assert_eq '{"signal": "SIGKILL"}' "$(svc_field web last_exit)" "last_exit"
	assert_eq 1 "$(svc_field web restarts)" "restarts"
	local events
	events=$(log_events web | tr '\n' '|')
	assert_eq "started pid $old|killed by signal SIGKILL|restarting in 1s|started pid $PID|" "$events" "event sequence"
}

test_log_abort_event() {
	one_service "abort" "restart = never"
	wait_state 5 web EXITED
	wait_log 2 web 'nono killed by signal SIGABRT$'
	assert_eq '{"signal": "SIGABRT"}' "$(svc_field web last_exit)" "last_exit"
}

test_log_stop_event() {
	one_service "sleep"
	wait_running 5 web
	run ctl stop web
	assert_rc 0 "nonoctl stop"
	wait_log 2 web 'nono stopped$'
	assert_eq "stopped" "$(log_events web | tail -n 1)" "last event"
}

test_log_partial_line() {
	one_service "partial 'no newline here'"
	wait_running 5 web
	wait_log 2 web 'out no newline here$'
}

test_log_partial_flushed_at_exit() {
	one_service "partial 'last words' --exit" "restart = never"
	wait_state 5 web EXITED
	wait_log 2 web 'nono exited with code 0$'
	local lines
	lines=$(sed -nE "s/^$TS_RE //p" "$(log_of web)" | grep -v '^nono started' | tr '\n' '|')
	assert_eq "out last words|nono exited with code 0|" "$lines" "log after the pid line"
}

test_log_appends_across_restarts() {
	one_service "print 2 30"
	wait_running 5 web
	wait_log 3 web 'out line 000002 '
	run ctl restart web
	assert_rc 0 "nonoctl restart"
	wait_running 1 web
	wait_for 3 eval '[ "$(log_text web out | grep -c "^line 000002 ")" = 2 ]' ||
		fail "second run's output not appended: $(cat "$(log_of web)")"
	assert_eq 2 "$(log_events web | grep -c '^started pid')" "starts in the log"
	assert_eq 4 "$(log_text web out | wc -l)" "out lines"
}

test_log_long_line() {
	one_service "long-line 40000"
	wait_running 5 web
	local f
	f=$(log_of web)
	wait_for 3 eval '[ "$(log_text web out | tr -cd x | wc -c)" -ge 40000 ]' ||
		fail "fewer than 40000 bytes of the long line logged: $(log_text web out | tr -cd x | wc -c)"
	run "$PY" - "$f" <<'EOF'
import re, sys
parts = [m.group(1) for m in re.finditer(rb"^\S+ out (.*)$", open(sys.argv[1], "rb").read(), re.M)]
assert len(parts) >= 3, "a 40000-byte line became %d log lines" % len(parts)
assert all(set(p) == {ord("x")} for p in parts), "pieces contain other bytes"
assert all(len(p) <= 16384 for p in parts), "a piece is longer than 16 KiB: %r" % [len(p) for p in parts]
assert sum(len(p) for p in parts) == 40000, "total %d bytes, expected 40000" % sum(len(p) for p in parts)
print("pieces", [len(p) for p in parts])
EOF
	assert_rc 0 "long line pieces"
}

test_log_line_at_limit_not_split() {
	one_service "long-line 16384"
	wait_running 5 web
	wait_for 3 eval '[ "$(log_text web out | tr -cd x | wc -c)" -ge 16384 ]' ||
		fail "the 16384-byte line was not logged in full"
	sleep 0.3	# a wrongly split remainder would be flushed by now
	assert_eq 1 "$(log_text web out | wc -l)" "log lines for a line of exactly 16 KiB"
}

test_log_binary_bytes() {
	one_service "binary"
	wait_running 5 web
	wait_for 3 grep -q ' out ' "$(log_of web)" || fail "no output logged"
	run "$PY" - "$(log_of web)" <<'EOF'
import re, sys
want = bytes(b for b in range(1, 256) if b != 10)
data = open(sys.argv[1], "rb").read()
outs = [m.group(1) for m in re.finditer(rb"^\S+ out (.*)$", data, re.M)]
assert outs == [want], "logged %r, expected %r" % (outs, want)
print("binary ok")
EOF
	assert_rc 0 "binary output"
}

test_log_chunked_writes() {
	one_service "spam-chunks 300 50 7"
	wait_running 5 web
	wait_log 3 web 'out line 000300 '
	run "$PY" - "$(log_of web)" <<'EOF'
import re, sys
outs = [m.group(1) for m in re.finditer(rb"^\S+ out (.*)$", open(sys.argv[1], "rb").read(), re.M)]
def line(i):
    head = b"line %06d " % i
    return head + bytes(ord("a") + k % 26 for k in range(49 - len(head)))
want = [line(i) for i in range(1, 301)]
assert outs == want, "first difference at %d: %r" % next(
    (i, (a, b)) for i, (a, b) in enumerate(zip(outs + [None] * 300, want)) if a != b)
print("chunks ok")
EOF
	assert_rc 0 "lines written in 7-byte chunks"
}

test_log_rotation() {
	one_service "print 3000 100" "log_max_size = 64K" "log_backups = 2"
	wait_running 5 web
	wait_log 5 web 'out line 003000 '
	local f
	f=$(log_of web)
	[ -f "$f.1" ] || fail "$f.1 missing"
	[ -f "$f.2" ] || fail "$f.2 missing"
	[ ! -e "$f.3" ] || fail "$f.3 exists with log_backups=2"
	local x size
	for x in "$f" "$f.1" "$f.2"; do
		size=$(stat -c %s "$x")
		assert_le "$size" $((65536 + 140)) "size of $x"
	done
	assert_eq 0 "$(svc_field web log_bytes_lost)" "log_bytes_lost"
	run "$PY" - "$f" <<'EOF'
import re, sys
f = sys.argv[1]
nums = []
for path in (f + ".2", f + ".1", f):
    for l in open(path, "rb"):
        assert re.match(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (out|err|nono) ", l), "bad line %r in %s" % (l, path)
        m = re.match(rb"^\S+ out line (\d{6}) ", l)
        if m:
            nums.append(int(m.group(1)))
assert nums == list(range(nums[0], 3001)), "lines across the files are not contiguous"
print("kept lines %d..3000" % nums[0])
EOF
	assert_rc 0 "rotated files"
}

test_log_flood_status_responsive() {
	one_service "print 400000 128" "log_max_size = 8M" "log_backups = 1"
	wait_running 5 web
	# while ~51 MB stream in, the loop must keep answering
	local worst=0 t0 dt i
	for i in $(seq 1 10); do
		t0=$(now_ms)
		ctl status web >/dev/null || fail "status failed during the flood"
		dt=$(($(now_ms) - t0))
		[ "$dt" -gt "$worst" ] && worst=$dt
		sleep 0.1
	done
	[ "$worst" -lt 1000 ] || fail "status took $worst ms during the flood"
	wait_log 30 web 'out line 400000 '
	assert_eq 0 "$(svc_field web log_bytes_lost)" "log_bytes_lost"
	[ ! -e "$(log_of web).2" ] || fail "log_backups=1 but .2 exists"
	run "$PY" - "$(log_of web)" <<'EOF'
import re, sys
f = sys.argv[1]
nums, stamps = [], []
for path in (f + ".1", f):
    for l in open(path, "rb"):
        m = re.match(rb"^(\S+) out line (\d{6}) ", l)
        if m:
            stamps.append(m.group(1))
            nums.append(int(m.group(2)))
assert nums == list(range(nums[0], 400001)), "lines across the files are not contiguous"
assert stamps == sorted(stamps), "time stamps go backwards"
print("kept lines %d..400000" % nums[0])
EOF
	assert_rc 0 "flooded log"
}

test_logs_tail() {
	one_service "print 20 30"
	wait_running 5 web
	wait_log 3 web 'out line 000020 '
	run ctl logs web -n 5
	assert_rc 0 "nonoctl logs web -n 5"
	assert_eq 5 "$(printf '%s\n' "$OUT" | wc -l)" "number of lines"
	local i=16 l
	while IFS= read -r l; do
		assert_match "^$TS_RE out line 0000$i abcdefghijklmnopq$" "$l" "tail line"
		i=$((i + 1))
	done <<<"$OUT"
}

follow_has() {	# ERE
	grep -Eq -- "$1" "$T/follow.out"
}

test_logs_follow() {
	one_service "print 3 30"
	wait_running 5 web
	wait_log 3 web 'out line 000003 '
	bg "$T/follow.out" "$NONOCTL" -S "$SOCK" logs -f web
	local follower=$BG_PID
	wait_for 3 follow_has 'out line 000003 ' || fail "logs -f printed: $(cat "$T/follow.out")"
	run ctl restart web
	assert_rc 0 "nonoctl restart"
	wait_running 1 web
	wait_for 3 follow_has "nono started pid $PID\$" || fail "logs -f missed the restart: $(cat "$T/follow.out")"
	kill -0 "$follower" || fail "nonoctl logs -f exited"
	kill "$follower"
}

test_logs_follow_across_rotation() {
	one_service "print 2000 100" "log_max_size = 64K" "log_backups = 3" "autostart = false"
	bg "$T/follow.out" "$NONOCTL" -S "$SOCK" logs -f web
	local follower=$BG_PID
	run ctl start web
	assert_rc 0 "nonoctl start"
	wait_for 5 follow_has 'out line 002000 ' ||
		fail "logs -f did not reach the last line across rotations: $(tail -n 2 "$T/follow.out")"
	kill -0 "$follower" || fail "nonoctl logs -f exited"
	kill "$follower"
}

test_logs_unknown_service() {
	one_service "sleep"
	run ctl logs nope
	assert_rc 1 "nonoctl logs nope"
	assert_contains "unknown service 'nope'" "$OUT"
}

run_tests "$@"
