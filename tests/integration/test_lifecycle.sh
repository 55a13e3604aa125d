#!/usr/bin/env bash
# test_lifecycle.sh: service states, restart policies, backoff, crash loops, spawn errors.
. "$(dirname "$0")/lib.sh"

test_running_status() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
start_secs = 200ms
EOF
	start_daemon
	wait_running 5 web
	run ctl status
	assert_rc 0 "nonoctl status with everything RUNNING"
	assert_match "^web +RUNNING +pid $PID, uptime 0:00:0[0-9], restarts 0, SANDBOX OFF$" "$OUT" "status line"
	run ctl status web
	assert_rc 0 "nonoctl status web"
	assert_match "^web +RUNNING +pid $PID, uptime 0:00:0[0-9], restarts 0, SANDBOX OFF$" "$OUT" "status line"

	run ctl status --json
	assert_rc 0 "nonoctl status --json"
	run "$PY" - "$PID" "$LOGDIR/web.log" "$OUT" <<'EOF'
import json, sys
pid, log, text = int(sys.argv[1]), sys.argv[2], sys.argv[3]
data = json.loads(text)
assert isinstance(data, list) and len(data) == 1, "not a 1-element array: %r" % data
s = data[0]
keys = {"name", "state", "want", "pid", "uptime_s", "restarts", "last_exit", "next_restart_s",
        "reason", "log", "log_bytes_lost", "kill_mode"}
missing = keys - set(s)
assert not missing, "missing keys %s in %r" % (sorted(missing), s)
assert s["name"] == "web", s
assert s["state"] == "RUNNING", s
assert s["want"] == "up", s
assert s["pid"] == pid, (s["pid"], pid)
assert isinstance(s["uptime_s"], (int, float)) and 0 <= s["uptime_s"] < 10, s
assert s["restarts"] == 0, s
assert s["last_exit"] is None, s
assert s["next_restart_s"] in (None, 0), s
assert s["reason"] in (None, ""), s
assert s["log"] == log, (s["log"], log)
assert s["log_bytes_lost"] == 0, s
assert s["kill_mode"] in ("cgroup", "process-group"), s
print("json ok")
EOF
	assert_rc 0 "status --json contents"
}

test_kill_mode_cgroup() {
	[ -d /sys/fs/cgroup/unified ] || grep -q cgroup2 /proc/mounts || skip "no cgroup2 mount"
	[ "$(id -u)" = 0 ] || skip "cgroup delegation needs root here"
	write_ini <<EOF
[service:web]
command = $HELPER sleep
start_secs = 100ms
EOF
	start_daemon
	wait_running 5 web
	assert_eq cgroup "$(svc_field web kill_mode)" "kill_mode as root with cgroup2"
	local mine theirs
	mine=$(grep '^0::' /proc/self/cgroup)
	theirs=$(grep '^0::' "/proc/$PID/cgroup")
	assert_ne "$mine" "$theirs" "the service's cgroup2 path (should be its own)"
	assert_match "web" "$theirs" "the service's cgroup2 path names the service"
}

test_starting_state() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
start_secs = 3s
EOF
	local t0 t1
	t0=$(now_ms)
	start_daemon
	assert_eq STARTING "$(svc_state web)" "state right after the start"
	run ctl status web
	assert_rc 3 "nonoctl status of a STARTING service"
	assert_match "^web +STARTING" "$OUT" "status line"
	wait_state 8 web RUNNING
	t1=$(now_ms)
	[ $((t1 - t0)) -ge 2900 ] || fail "RUNNING after $((t1 - t0)) ms, before start_secs=3s"
}

test_exit_restart_never() {
	write_ini <<EOF
[service:web]
command = $HELPER run-exit 0.5 3
start_secs = 100ms
restart = never
EOF
	start_daemon
	wait_state 5 web EXITED
	assert_eq '{"code": 3}' "$(svc_field web last_exit)" "last_exit"
	assert_eq 0 "$(svc_field web restarts)" "restarts"
	assert_match '^(null|0)$' "$(svc_field web pid)" "pid of an EXITED service"
	run ctl status web
	assert_rc 3 "nonoctl status of an EXITED service"
	assert_match "^web +EXITED +exited 3" "$OUT" "status line"
	assert_eq 1 "$(log_events web | grep -c '^started pid')" "starts in the log"
	assert_line '^exited with code 3$' "$(log_events web)" "log events"
	assert_no_line '^restarting' "$(log_events web)" "log events"
}

test_on_failure_success_exit() {
	write_ini <<EOF
[service:web]
command = $HELPER run-exit 0.5 0
start_secs = 100ms
restart = on-failure
restart_delay = 100ms
EOF
	start_daemon
	wait_state 5 web EXITED
	assert_eq '{"code": 0}' "$(svc_field web last_exit)" "last_exit"
	sleep 0.5	# give a wrong restart the time to happen
	assert_eq EXITED "$(svc_state web)" "state 0.5s later"
	assert_eq 0 "$(svc_field web restarts)" "restarts"
	assert_eq 1 "$(log_events web | grep -c '^started pid')" "starts in the log"
}

test_success_exit_codes() {
	write_ini <<EOF
[service:web]
command = $HELPER run-exit 0.5 7
start_secs = 100ms
restart = on-failure
restart_delay = 100ms
success_exit_codes = 0 7
EOF
	start_daemon
	wait_state 5 web EXITED
	assert_eq '{"code": 7}' "$(svc_field web last_exit)" "last_exit"
	sleep 0.5
	assert_eq EXITED "$(svc_state web)" "state 0.5s later"
	assert_eq 0 "$(svc_field web restarts)" "restarts"
}

restarts_at_least() {	# NAME N
	local r
	r=$(svc_field "$1" restarts)
	[[ $r =~ ^[0-9]+$ ]] && [ "$r" -ge "$2" ]
}

test_on_failure_restarts() {
	write_ini <<EOF
[service:web]
command = $HELPER run-exit 0.4 1
start_secs = 100ms
restart = on-failure
restart_delay = 100ms
start_limit = 100/60s
EOF
	start_daemon
	wait_running 5 web
	local first=$PID
	wait_for 8 restarts_at_least web 2 || fail "fewer than 2 restarts after 8s: $(ctl status web)"
	assert_line '^exited with code 1$' "$(log_events web)" "log events"
	assert_line '^restarting in ' "$(log_events web)" "log events"
	wait_running 5 web
	assert_ne "$first" "$PID" "pid after restarts"
}

test_always_restarts_success() {
	write_ini <<EOF
[service:web]
command = $HELPER run-exit 0.4 0
start_secs = 100ms
restart = always
restart_delay = 100ms
start_limit = 100/60s
EOF
	start_daemon
	wait_running 5 web
	local first=$PID
	wait_for 8 restarts_at_least web 1 || fail "no restart after 8s: $(ctl status web)"
	wait_running 5 web
	assert_ne "$first" "$PID" "pid after a restart"
	assert_line '^exited with code 0$' "$(log_events web)" "log events"
}

test_backoff_status() {
	write_ini <<EOF
[service:web]
command = $HELPER exit 1
start_secs = 500ms
restart_delay = 5s
start_limit = 10/60s
EOF
	start_daemon
	wait_state 5 web BACKOFF
	run ctl status web
	assert_rc 3 "nonoctl status of a BACKOFF service"
	assert_match "^web +BACKOFF +exited 1, restarting in [1-5]s, restarts 0, SANDBOX OFF$" "$OUT" "status line"
	assert_eq '{"code": 1}' "$(svc_field web last_exit)" "last_exit"
	local next
	next=$(svc_field web next_restart_s)
	"$PY" -c 'import sys; v = float(sys.argv[1]); sys.exit(0 if 0 < v <= 5 else 1)' "$next" ||
		fail "next_restart_s: expected in (0, 5], got $next"
	assert_match '^(null|0)$' "$(svc_field web pid)" "pid in BACKOFF"
	assert_line '^restarting in 5s$' "$(log_events web)" "log events"
}

count_restarting() {	# NAME N: at least N "restarting in" events
	[ "$(log_events "$1" | grep -c '^restarting in ')" -ge "$2" ]
}

test_backoff_doubles_to_max() {
	write_ini <<EOF
[service:web]
command = $HELPER exit 1
start_secs = 300ms
restart_delay = 1s
restart_delay_max = 4s
start_limit = 50/60s
EOF
	start_daemon
	wait_for 15 count_restarting web 4 || fail "fewer than 4 restarts after 15s: $(log_events web)"
	local delays
	delays=$(log_events web | sed -n 's/^restarting in //p' | head -n 4 | tr '\n' ' ')
	assert_eq "1s 2s 4s 4s " "$delays" "restart delays"
	# each start comes no earlier than the delay announced before it
	run "$PY" - "$LOGDIR/web.log" <<'EOF'
import re, sys, datetime
ts = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
wait = None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(\S+) nono (restarting in (\d+)s|started pid)", line)
    if not m:
        continue
    if m.group(3):
        wait = (ts(m.group(1)), int(m.group(3)))
    elif wait:
        gap = ts(m.group(1)) - wait[0]
        assert gap >= wait[1] - 0.05, "started %.3fs after 'restarting in %ds'" % (gap, wait[1])
        wait = None
print("gaps ok")
EOF
	assert_rc 0 "time between 'restarting in' and the next start"
}

test_reset_after_stable_run() {
	write_ini <<EOF
[service:web]
command = $HELPER run-exit 1 1
start_secs = 200ms
restart_delay = 1s
restart_delay_max = 8s
reset_after = 500ms
start_limit = 50/60s
EOF
	start_daemon
	wait_for 12 count_restarting web 3 || fail "fewer than 3 restarts after 12s: $(log_events web)"
	local delays
	delays=$(log_events web | sed -n 's/^restarting in //p' | head -n 3 | tr '\n' ' ')
	assert_eq "1s 1s 1s " "$delays" "restart delays after runs longer than reset_after"
}

test_crash_loop_failed() {
	write_ini <<EOF
[service:web]
command = $HELPER exit 1
start_secs = 500ms
restart_delay = 100ms
restart_delay_max = 100ms
start_limit = 3/10s
EOF
	start_daemon
	wait_state 8 web FAILED
	assert_eq "crash loop: 3 failed starts in 10s" "$(svc_field web reason)" "reason"
	run ctl status web
	assert_rc 3 "nonoctl status of a FAILED service"
	assert_match "^web +FAILED +crash loop: 3 failed starts in 10s, SANDBOX OFF$" "$OUT" "status line"
	assert_line '^crash loop: ' "$(log_events web)" "log events"
	sleep 0.5	# a FAILED service must stay down
	assert_eq FAILED "$(svc_state web)" "state 0.5s later"
	assert_eq 3 "$(log_events web | grep -c '^started pid')" "starts in the log"
	assert_eq 2 "$(svc_field web restarts)" "restarts"
	assert_eq '{"code": 1}' "$(svc_field web last_exit)" "last_exit"
}

test_start_limit_window_slides() {
	write_ini <<EOF
[service:web]
command = $HELPER exit 1
start_secs = 300ms
restart_delay = 1500ms
restart_delay_max = 1500ms
start_limit = 3/2s
EOF
	start_daemon
	# failed starts come every 1.5s, so never 3 within 2s: it must keep retrying
	wait_for 8 restarts_at_least web 3 || fail "fewer than 3 restarts after 8s: $(ctl status web)"
	local s
	s=$(svc_state web)
	[ "$s" != FAILED ] || fail "FAILED although no 3 failed starts fell within 2s: $(svc_field web reason)"
}

test_crash_loop_start_recovers() {
	touch "$T/broken"
	write_ini <<EOF
[service:web]
command = $HELPER fail-if-exists $T/broken 2
start_secs = 300ms
restart_delay = 100ms
restart_delay_max = 100ms
start_limit = 2/10s
EOF
	start_daemon
	wait_state 8 web FAILED
	assert_eq "crash loop: 2 failed starts in 10s" "$(svc_field web reason)" "reason"

	# still broken: start tries again and reports the failure
	run ctl start web
	assert_rc 1 "nonoctl start of a still-broken service"
	assert_match "^web: " "$OUT" "result line"
	wait_state 8 web FAILED

	rm "$T/broken"
	run ctl start web
	assert_rc 0 "nonoctl start after the fix"
	assert_match "^web: " "$OUT" "result line"
	wait_running 2 web
	assert_match '^(null|)$' "$(svc_field web reason)" "reason once RUNNING"
}

test_stop_during_backoff() {
	write_ini <<EOF
[service:web]
command = $HELPER exit 1
start_secs = 300ms
restart_delay = 2s
start_limit = 10/60s
EOF
	start_daemon
	wait_state 5 web BACKOFF
	run ctl stop web
	assert_rc 0 "nonoctl stop of a service in BACKOFF"
	assert_eq STOPPED "$(svc_state web)" "state"
	sleep 2.5	# past the restart delay: it must not come back
	assert_eq STOPPED "$(svc_state web)" "state after the restart delay"
	assert_eq 1 "$(log_events web | grep -c '^started pid')" "starts in the log"
}

test_stop_during_starting() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
start_secs = 5s
EOF
	start_daemon
	assert_eq STARTING "$(svc_state web)" "state"
	local pid
	pid=$(svc_pid web)
	run ctl stop web
	assert_rc 0 "nonoctl stop of a STARTING service"
	assert_eq STOPPED "$(svc_state web)" "state"
	pid_gone "$pid" || fail "pid $pid still alive"
}

test_restart_failed_service() {
	touch "$T/broken"
	write_ini <<EOF
[service:web]
command = $HELPER fail-if-exists $T/broken 2
start_secs = 300ms
restart_delay = 100ms
start_limit = 2/10s
EOF
	start_daemon
	wait_state 8 web FAILED
	rm "$T/broken"
	run ctl restart web
	assert_rc 0 "nonoctl restart of a FAILED service"
	wait_running 1 web
}

test_spawn_missing_binary() {
	write_ini <<EOF
[service:web]
command = $T/no-such-binary --flag
start_secs = 200ms
EOF
	start_daemon
	wait_state 5 web FAILED
	run ctl status web
	assert_rc 3 "nonoctl status of a service whose binary is missing"
	# the reason names the binary and why (the brief's example says "not found")
	assert_match "^web +FAILED +.*$T/no-such-binary.*(not found|No such file or directory)" "$OUT" "status line"
	assert_contains "$T/no-such-binary" "$(svc_field web reason)" "reason"
	run ctl start web
	assert_rc 1 "nonoctl start of a service whose binary is missing"
	assert_match "^web: " "$OUT" "result line"
}

test_spawn_bad_cwd() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
cwd = $T/no-such-dir
start_secs = 200ms
EOF
	start_daemon
	wait_state 5 web FAILED
	run ctl status web
	assert_rc 3 "nonoctl status of a service with a missing cwd"
	assert_match "^web +FAILED +.*$T/no-such-dir" "$OUT" "status line"
}

test_spawn_unknown_user() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
user = nono-no-such-user
start_secs = 200ms
EOF
	start_daemon
	wait_state 5 web FAILED
	run ctl status web
	assert_rc 3 "nonoctl status of a service with an unknown user"
	assert_match "^web +FAILED +.*nono-no-such-user" "$OUT" "status line"
}

run_tests "$@"
