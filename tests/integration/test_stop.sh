#!/usr/bin/env bash
# test_stop.sh: nonoctl start/stop/restart, stop signals and timeouts, tree kill, status exit codes.
. "$(dirname "$0")/lib.sh"

test_stop_sigterm() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
start_secs = 100ms
EOF
	start_daemon
	wait_running 5 web
	run ctl stop web
	assert_rc 0 "nonoctl stop web"
	assert_match "^web: " "$OUT" "result line"
	pid_gone "$PID" || fail "pid $PID still alive after nonoctl stop returned"
	assert_eq STOPPED "$(svc_state web)" "state after stop"
	assert_eq down "$(svc_field web want)" "want after stop"
	assert_match '^(null|0)$' "$(svc_field web pid)" "pid after stop"
	wait_log 2 web 'nono stopped$'
	run ctl status web
	assert_rc 3 "nonoctl status of a STOPPED service"
	assert_match "^web +STOPPED" "$OUT" "status line"
}

test_stop_timeout_sigkill() {
	write_ini <<EOF
[service:web]
command = $HELPER ignore-term
start_secs = 100ms
stop_timeout = 1s
EOF
	start_daemon
	wait_running 5 web
	wait_log 2 web 'out ready$'
	local t0 dt
	t0=$(now_ms)
	run ctl stop web
	dt=$(($(now_ms) - t0))
	assert_rc 0 "nonoctl stop of a service that ignores SIGTERM"
	[ "$dt" -ge 900 ] || fail "stop returned after $dt ms, before stop_timeout=1s"
	[ "$dt" -lt 4000 ] || fail "stop took $dt ms with stop_timeout=1s"
	pid_gone "$PID" || fail "pid $PID still alive after nonoctl stop returned"
	assert_eq STOPPED "$(svc_state web)" "state"
	assert_eq '{"signal": "SIGKILL"}' "$(svc_field web last_exit)" "last_exit"
	wait_log 2 web 'nono stopped$'
}

test_stop_signal_setting() {
	write_ini <<EOF
[service:web]
command = $HELPER ignore-term
start_secs = 100ms
stop_signal = INT
stop_timeout = 10s
EOF
	start_daemon
	wait_running 5 web
	wait_log 2 web 'out ready$'
	local t0 dt
	t0=$(now_ms)
	run ctl stop web
	dt=$(($(now_ms) - t0))
	assert_rc 0 "nonoctl stop with stop_signal=INT"
	[ "$dt" -lt 3000 ] || fail "stop took $dt ms: SIGINT not sent?"
	pid_gone "$PID" || fail "pid $PID still alive"
	assert_eq '{"signal": "SIGINT"}' "$(svc_field web last_exit)" "last_exit"
}

test_stop_kills_setsid_grandchild() {
	write_ini <<EOF
[service:web]
command = $HELPER fork-setsid $T/grandchild.pid
start_secs = 100ms
stop_timeout = 2s
EOF
	start_daemon
	wait_running 5 web
	wait_for 5 test -s "$T/grandchild.pid" || fail "no grandchild pid file"
	local gpid
	gpid=$(cat "$T/grandchild.pid")
	pid_alive "$gpid" || fail "grandchild $gpid is not running"
	[ "$(ps -o sid= -p "$gpid" | tr -d ' ')" != "$PID" ] || fail "grandchild did not leave the session"
	run ctl stop web
	assert_rc 0 "nonoctl stop web"
	pid_gone "$PID" || fail "service pid $PID still alive"
	wait_for 2 pid_gone "$gpid" || fail "setsid grandchild $gpid survived the stop: $(ps -o pid,ppid,sid,stat,cmd -p "$gpid")"
}

test_main_exit_reaps_leftovers() {
	# the main process exits 0 and leaves a setsid grandchild behind: the service has
	# exited only once everything it started is gone
	write_ini <<EOF
[service:web]
command = $HELPER fork-setsid $T/grandchild.pid --exit
start_secs = 100ms
restart = never
stop_timeout = 1s
EOF
	start_daemon
	wait_for 5 test -s "$T/grandchild.pid" || fail "no grandchild pid file"
	local gpid
	gpid=$(cat "$T/grandchild.pid")
	wait_state 5 web EXITED
	assert_eq '{"code": 0}' "$(svc_field web last_exit)" "last_exit"
	wait_for 2 pid_gone "$gpid" || fail "grandchild $gpid outlived its service"
}

test_stop_no_wait() {
	write_ini <<EOF
[service:web]
command = $HELPER ignore-term
start_secs = 100ms
stop_timeout = 2s
EOF
	start_daemon
	wait_running 5 web
	wait_log 2 web 'out ready$'
	local t0 dt
	t0=$(now_ms)
	run ctl stop --no-wait web
	dt=$(($(now_ms) - t0))
	assert_rc 0 "nonoctl stop --no-wait"
	[ "$dt" -lt 1000 ] || fail "stop --no-wait took $dt ms"
	assert_eq STOPPING "$(svc_state web)" "state right after stop --no-wait"
	assert_eq down "$(svc_field web want)" "want"
	wait_state 5 web STOPPED
	pid_gone "$PID" || fail "pid $PID still alive"
}

test_restart_new_pid() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
start_secs = 100ms
EOF
	start_daemon
	wait_running 5 web
	local old=$PID
	run ctl restart web
	assert_rc 0 "nonoctl restart web"
	assert_match "^web: " "$OUT" "result line"
	assert_eq RUNNING "$(svc_state web)" "state after restart returned"
	wait_running 1 web
	assert_ne "$old" "$PID" "pid after restart"
	pid_gone "$old" || fail "old pid $old still alive"
}

test_restart_needs_sigkill() {
	write_ini <<EOF
[service:web]
command = $HELPER ignore-term
start_secs = 100ms
stop_timeout = 1s
EOF
	start_daemon
	wait_running 5 web
	wait_log 2 web 'out ready$'
	local old=$PID t0 dt
	t0=$(now_ms)
	run ctl restart web
	dt=$(($(now_ms) - t0))
	assert_rc 0 "nonoctl restart of a service that ignores SIGTERM"
	[ "$dt" -ge 900 ] || fail "restart returned after $dt ms, before stop_timeout"
	pid_gone "$old" || fail "old pid $old alive"
	wait_running 1 web
	assert_ne "$old" "$PID" "pid"
}

test_client_gone_before_reply() {
	write_ini <<EOF
[service:web]
command = $HELPER ignore-term
start_secs = 100ms
stop_timeout = 1s

[service:other]
command = $HELPER sleep
start_secs = 100ms
EOF
	start_daemon
	wait_running 5 other
	local po=$PID
	wait_running 5 web
	wait_log 2 web 'out ready$'
	# ask for a waiting stop and hang up at once: the daemon must not trip over the reply
	"$PY" - "$SOCK" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"cmd":"stop","names":["web"],"wait":true,"timeout_ms":10000}\n')
s.close()
EOF
	wait_state 5 web STOPPED
	sleep 0.2
	kill -0 "$DAEMON_PID" || fail "daemon died"
	run ctl status other
	assert_rc 0 "nonoctl status afterwards"
	assert_eq "$po" "$(svc_pid other)" "pid of other"
}

test_wait_timeout() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
start_secs = 10s
autostart = false
EOF
	start_daemon
	local t0 dt
	t0=$(now_ms)
	run ctl start --timeout 1s web
	dt=$(($(now_ms) - t0))
	assert_rc 1 "nonoctl start --timeout 1s of a service with start_secs=10s"
	assert_match "^web: " "$OUT" "result line"
	[ "$dt" -ge 900 ] && [ "$dt" -lt 4000 ] || fail "start --timeout 1s returned after $dt ms"
	assert_eq STARTING "$(svc_state web)" "state"
}

test_start_while_stopping() {
	write_ini <<EOF
[service:web]
command = $HELPER ignore-term
start_secs = 100ms
stop_timeout = 1s
EOF
	start_daemon
	wait_running 5 web
	wait_log 2 web 'out ready$'
	local old=$PID
	run ctl stop --no-wait web
	assert_rc 0 "nonoctl stop --no-wait"
	assert_eq STOPPING "$(svc_state web)" "state"
	run ctl start web
	assert_rc 0 "nonoctl start while STOPPING"
	wait_running 3 web
	assert_ne "$old" "$PID" "pid"
	pid_gone "$old" || fail "old pid $old alive next to the new one"
	assert_eq up "$(svc_field web want)" "want"
}

test_start_stop_all() {
	write_ini <<EOF
[service:a]
command = $HELPER sleep
start_secs = 100ms

[service:b]
command = $HELPER ignore-term
start_secs = 100ms
stop_timeout = 1s
EOF
	start_daemon
	wait_running 5 a
	local pa=$PID
	wait_running 5 b
	local pb=$PID
	run ctl stop all
	assert_rc 0 "nonoctl stop all"
	assert_line "^a: " "$OUT" "result for a"
	assert_line "^b: " "$OUT" "result for b"
	assert_eq STOPPED "$(svc_state a)" "state of a"
	assert_eq STOPPED "$(svc_state b)" "state of b"
	all_gone "$pa" "$pb" || fail "processes alive after stop all"
	run ctl start all
	assert_rc 0 "nonoctl start all"
	assert_eq 2 "$(printf '%s\n' "$OUT" | grep -cE '^(a|b): ')" "result lines"
	assert_eq RUNNING "$(svc_state a)" "state of a"
	assert_eq RUNNING "$(svc_state b)" "state of b"
	run ctl status
	assert_rc 0 "nonoctl status"
}

test_autostart_false() {
	write_ini <<EOF
[service:web]
command = $HELPER pidfile $T/web.pid
start_secs = 100ms
autostart = false
EOF
	start_daemon
	assert_eq STOPPED "$(svc_state web)" "state with autostart=false"
	sleep 0.3
	[ ! -e "$T/web.pid" ] || fail "autostart=false service was started"
	run ctl start web
	assert_rc 0 "nonoctl start web"
	assert_match "^web: " "$OUT" "result line"
	wait_running 1 web
	assert_eq "$PID" "$(cat "$T/web.pid")" "pid reported vs the process's own"
}

test_start_running_is_noop() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
start_secs = 100ms
EOF
	start_daemon
	wait_running 5 web
	local old=$PID
	run ctl start web
	assert_rc 0 "nonoctl start of a running service"
	assert_eq "$old" "$(svc_pid web)" "pid"
	run ctl stop web
	assert_rc 0 "nonoctl stop"
	run ctl stop web
	assert_rc 0 "nonoctl stop of a stopped service"
	assert_eq STOPPED "$(svc_state web)" "state"
}

test_start_failing_service() {
	write_ini <<EOF
[service:bad]
command = $HELPER exit 1
start_secs = 300ms
restart_delay = 100ms
start_limit = 2/60s
autostart = false
EOF
	start_daemon
	run ctl start bad
	assert_rc 1 "nonoctl start of a service that always exits 1"
	assert_match "^bad: " "$OUT" "result line"
}

test_status_exit_codes() {
	write_ini <<EOF
[service:up]
command = $HELPER sleep
start_secs = 100ms

[service:down]
command = $HELPER sleep
autostart = false
EOF
	start_daemon
	wait_running 5 up
	run ctl status
	assert_rc 3 "nonoctl status with one service down"
	assert_match "^up +RUNNING +pid $PID, uptime [0-9:]+, restarts 0, SANDBOX OFF"$'\n'"down +STOPPED|^down +STOPPED.*"$'\n'"up +RUNNING" "$OUT" "two status lines"
	assert_eq 2 "$(printf '%s\n' "$OUT" | wc -l)" "number of status lines"
	run ctl status up
	assert_rc 0 "nonoctl status up"
	assert_eq 1 "$(printf '%s\n' "$OUT" | wc -l)" "number of status lines"
	run ctl status down
	assert_rc 3 "nonoctl status down"
	run ctl status --json
	assert_rc 3 "nonoctl status --json with one service down"
}

test_unknown_service() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
start_secs = 100ms
autostart = false
EOF
	start_daemon
	run ctl status nope
	assert_rc 1 "nonoctl status nope"
	assert_contains "unknown service 'nope'" "$OUT"
	run ctl stop nope
	assert_rc 1 "nonoctl stop nope"
	assert_contains "unknown service 'nope'" "$OUT"
	# an unknown name fails the whole request: web is not started
	run ctl start web nope
	assert_rc 1 "nonoctl start web nope"
	assert_contains "unknown service 'nope'" "$OUT"
	assert_eq STOPPED "$(svc_state web)" "state of web"
}

test_no_daemon() {
	run "$NONOCTL" -S /nonexistent.sock status
	assert_rc 1 "nonoctl status without a daemon"
	assert_contains "/nonexistent.sock" "$OUT"
}

run_tests "$@"
