#!/usr/bin/env bash
# test_daemon.sh: the daemon's own lifecycle: SIGTERM/SIGINT, shutdown, SIGKILL and leftovers.
. "$(dirname "$0")/lib.sh"

three_services() {
	write_ini <<EOF
[service:a]
command = $HELPER sleep
start_secs = 100ms

[service:b]
command = $HELPER ignore-term
start_secs = 100ms
stop_timeout = 1s

[service:c]
command = $HELPER fork-setsid $T/grandchild.pid
start_secs = 100ms
stop_timeout = 1s
EOF
	start_daemon
	wait_running 5 a
	PA=$PID
	wait_running 5 b
	PB=$PID
	wait_running 5 c
	PC=$PID
	wait_for 5 test -s "$T/grandchild.pid" || fail "no grandchild pid file"
	GPID=$(cat "$T/grandchild.pid")
	pid_alive "$GPID" || fail "grandchild $GPID not running"
}

test_sigterm_stops_all() {
	three_services
	kill -TERM "$DAEMON_PID"
	wait_daemon_exit 10
	assert_eq 0 "$DAEMON_RC" "daemon exit status after SIGTERM"
	wait_for 2 all_gone "$PA" "$PB" "$PC" "$GPID" ||
		fail "processes left after SIGTERM: $(ps -o pid,stat,cmd -p "$PA,$PB,$PC,$GPID" | tail -n +2)"
	wait_log 1 a 'nono stopped$'
	wait_log 1 b 'nono stopped$'
}

test_sigterm_with_backoff_and_failed() {
	write_ini <<EOF
[service:loop]
command = $HELPER exit 1
start_secs = 300ms
restart_delay = 10s
start_limit = 10/60s

[service:dead]
command = $T/no-such-binary
EOF
	start_daemon
	wait_state 5 loop BACKOFF
	wait_state 5 dead FAILED
	local t0 dt
	t0=$(now_ms)
	kill -TERM "$DAEMON_PID"
	wait_daemon_exit 5
	dt=$(($(now_ms) - t0))
	assert_eq 0 "$DAEMON_RC" "daemon exit status"
	[ "$dt" -lt 2000 ] || fail "daemon took $dt ms to exit with nothing running"
}

test_sigint_stops_all() {
	three_services
	kill -INT "$DAEMON_PID"
	wait_daemon_exit 10
	assert_eq 0 "$DAEMON_RC" "daemon exit status after SIGINT"
	wait_for 2 all_gone "$PA" "$PB" "$PC" "$GPID" ||
		fail "processes left after SIGINT: $(ps -o pid,stat,cmd -p "$PA,$PB,$PC,$GPID" | tail -n +2)"
}

test_shutdown_command() {
	three_services
	run ctl shutdown
	assert_rc 0 "nonoctl shutdown"
	wait_daemon_exit 10
	assert_eq 0 "$DAEMON_RC" "daemon exit status after shutdown"
	wait_for 2 all_gone "$PA" "$PB" "$PC" "$GPID" ||
		fail "processes left after shutdown: $(ps -o pid,stat,cmd -p "$PA,$PB,$PC,$GPID" | tail -n +2)"
}

test_sigkill_direct_children_die() {
	write_ini <<EOF
[service:a]
command = $HELPER sleep
start_secs = 100ms

[service:b]
command = $HELPER ignore-term
start_secs = 100ms
EOF
	start_daemon
	wait_running 5 a
	local pa=$PID
	wait_running 5 b
	local pb=$PID
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	wait_for 2 all_gone "$pa" "$pb" ||
		fail "service processes survived SIGKILL of the daemon: $(ps -o pid,stat,cmd -p "$pa,$pb" | tail -n +2)"
}

test_restart_kills_leftovers() {
	three_services
	local old_gpid=$GPID
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	wait_for 2 all_gone "$PA" "$PB" "$PC" || fail "direct children survived SIGKILL of the daemon"
	if pid_gone "$old_gpid"; then
		# (acceptable: something already killed the whole tree)
		echo "grandchild already gone after SIGKILL of the daemon"
	fi
	rm -f "$T/grandchild.pid"
	start_daemon
	wait_for 3 pid_gone "$old_gpid" ||
		fail "leftover grandchild $old_gpid of the killed daemon still alive 3s after a new daemon started"
	wait_running 5 a
}

test_second_daemon_same_socket() {
	write_ini <<EOF
[service:a]
command = $HELPER sleep
start_secs = 100ms
EOF
	start_daemon
	wait_running 5 a
	local pa=$PID first=$DAEMON_PID
	run timeout 10 "$SUPERVISE" -f "$INI"
	assert_rc 1 "a second daemon on the same socket"
	assert_contains "$SOCK" "$OUT" "message names the socket"
	kill -0 "$first" || fail "first daemon died"
	run ctl status a
	assert_rc 0 "status through the first daemon"
	assert_eq "$pa" "$(svc_pid a)" "pid"
}

test_stale_socket_after_sigkill() {
	write_ini <<EOF
[service:a]
command = $HELPER sleep
start_secs = 100ms
EOF
	start_daemon
	wait_running 5 a
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	[ -S "$SOCK" ] || echo "(the killed daemon left no socket file)"
	start_daemon
	wait_running 5 a
	run ctl status
	assert_rc 0 "nonoctl status through the new daemon"
}

n_running() {	# N: exactly N services RUNNING
	[ "$(ctl status 2>/dev/null | grep -c ' RUNNING ')" = "$1" ]
}

test_many_services() {
	local i
	for i in $(seq 1 40); do
		printf '[service:s%02d]\ncommand = %s sleep\nstart_secs = 100ms\nstop_timeout = 2s\n\n' "$i" "$HELPER"
	done | write_ini
	start_daemon
	wait_for 10 n_running 40 || fail "not all 40 services RUNNING: $(ctl status | grep -v ' RUNNING ' | head -n 5)"
	local pids
	pids=$(ctl status --json | "$PY" -c 'import json, sys; print(" ".join(str(s["pid"]) for s in json.load(sys.stdin)))')
	local t0 dt
	t0=$(now_ms)
	run ctl stop all
	dt=$(($(now_ms) - t0))
	assert_rc 0 "nonoctl stop all (40 services)"
	assert_eq 40 "$(printf '%s\n' "$OUT" | grep -c '^s[0-9][0-9]: ')" "result lines"
	[ "$dt" -lt 3000 ] || fail "stopping 40 services took $dt ms"
	# shellcheck disable=SC2086
	all_gone $pids || fail "processes alive after stop all"
	kill -TERM "$DAEMON_PID"
	wait_daemon_exit 5
	assert_eq 0 "$DAEMON_RC" "daemon exit status"
}

run_tests "$@"
