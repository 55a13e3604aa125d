#!/usr/bin/env bash
# test_config.sh: nono-supervise -n (check a config) and -f refusing a broken one.
. "$(dirname "$0")/lib.sh"

test_check_ok() {
	write_ini <<EOF
[service:web]
command = $HELPER sleep
EOF
	run_split "$SUPERVISE" -n "$INI"
	assert_rc 0 "nono-supervise -n"
	assert_eq "configuration OK" "$OUT" "stdout of -n"
	[ ! -e "$SOCK" ] || fail "-n created the control socket"
	[ ! -e "$LOGDIR" ] || fail "-n created the log dir"
}

test_check_every_key() {
	mkdir "$T/work"
	printf 'A=1\nB=two words\n' >"$T/env"
	write_ini <<EOF
[service:all-keys_1.x]
command = $HELPER print 3 "20"
cwd = $T/work
env = FOO=bar
env_file = $T/env
user = nobody
autostart = false
restart = always
success_exit_codes = 0 7
start_secs = 500ms
restart_delay = 2s
restart_delay_max = 1m
reset_after = 1h
start_limit = 3/20s
stop_signal = INT
stop_timeout = 3s
log_max_size = 64K
log_backups = 2

[service:b]
command = $HELPER sleep
restart = never

[service:c]
command = $HELPER sleep
restart = on-failure
stop_signal = SIGUSR1
EOF
	run_split "$SUPERVISE" -n "$INI"
	assert_rc 0 "nono-supervise -n with every key"
	assert_eq "configuration OK" "$OUT" "stdout of -n"
}

test_check_errors_name_lines() {
	# line numbers below are the file's own; keep them in step with the text
	cat >"$INI" <<EOF
[supervisor]
socket = $SOCK
log_dir = $LOGDIR

[service:a]
command = $HELPER sleep
restart = sometimes
start_secs = soon

[service:b]
restart = always
stop_signal = SIGNOPE
EOF
	run "$SUPERVISE" -n "$INI"
	assert_rc 1 "nono-supervise -n on a broken file"
	assert_line "^$INI:7: " "$OUT" "error for 'restart = sometimes'"
	assert_line "^$INI:8: " "$OUT" "error for 'start_secs = soon'"
	assert_line "^$INI:12: " "$OUT" "error for 'stop_signal = SIGNOPE'"
	assert_line "^$INI:(10|11|12): .*command" "$OUT" "error for service 'b' without a command"
	assert_no_line "configuration OK" "$OUT"
	local bad
	bad=$(printf '%s\n' "$OUT" | grep -Ev "^$INI:[0-9]+: .+" | grep -v '^$')
	assert_eq "" "$bad" "lines not of the form FILE:LINE: message"
}

test_check_unknown_key() {
	cat >"$INI" <<EOF
[supervisor]
socket = $SOCK

[service:a]
command = $HELPER sleep
restrat = always
EOF
	run "$SUPERVISE" -n "$INI"
	assert_rc 1 "nono-supervise -n with a misspelt key"
	assert_line "^$INI:6: .*restrat" "$OUT" "error naming the unknown key"
}

test_check_duplicate_service() {
	cat >"$INI" <<EOF
[supervisor]
socket = $SOCK

[service:a]
command = $HELPER sleep

[service:a]
command = $HELPER sleep 5
EOF
	run "$SUPERVISE" -n "$INI"
	assert_rc 1 "nono-supervise -n with a duplicate service"
	assert_line "^$INI:7: " "$OUT" "error at the second [service:a]"
}

test_check_bad_service_names() {
	cat >"$INI" <<EOF
[supervisor]
socket = $SOCK

[service:.hidden]
command = $HELPER sleep

[service:a/b]
command = $HELPER sleep
EOF
	run "$SUPERVISE" -n "$INI"
	assert_rc 1 "nono-supervise -n with bad names"
	assert_line "^$INI:4: " "$OUT" "error for [service:.hidden]"
	assert_line "^$INI:7: " "$OUT" "error for [service:a/b]"
}

test_check_missing_file() {
	run "$SUPERVISE" -n "$T/no-such.ini"
	assert_rc 1 "nono-supervise -n on a missing file"
	assert_contains "$T/no-such.ini" "$OUT" "message names the file"
}

test_daemon_refuses_broken_config() {
	cat >"$INI" <<EOF
[supervisor]
socket = $SOCK
log_dir = $LOGDIR

[service:a]
command = $HELPER sleep
restart = sometimes
EOF
	run timeout 10 "$SUPERVISE" -f "$INI"
	assert_rc 1 "nono-supervise -f with a broken config"
	assert_line "^$INI:7: " "$OUT" "error line"
	[ ! -e "$SOCK" ] || fail "socket $SOCK exists after a refused start"
}

run_tests "$@"
