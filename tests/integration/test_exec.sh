#!/usr/bin/env bash
# test_exec.sh: what a service process gets: stdin, fds, session, cwd, env, user, signals.
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

test_fds_and_stdin() {
	one_service "fd-check"
	wait_running 5 web
	wait_log 3 web 'out fds '
	assert_eq "fds 0 1 2" "$(log_text web out | grep '^fds ')" "open fds of the service"
	assert_eq "fd 0 /dev/null" "$(log_text web out | grep '^fd 0 ')" "stdin"
	assert_match '^fd 1 (pipe|socket):' "$(log_text web out | grep '^fd 1 ')" "stdout"
	assert_match '^fd 2 (pipe|socket):' "$(log_text web out | grep '^fd 2 ')" "stderr"
}

test_own_session() {
	one_service "session"
	wait_running 5 web
	wait_log 3 web 'out pid='
	assert_eq "pid=$PID ppid=$DAEMON_PID pgid=$PID sid=$PID" "$(log_text web out)" "ids of the service process"
}

test_cwd_defaults_to_ini_dir() {
	one_service "pwd"
	wait_running 5 web
	wait_log 3 web 'out /'
	assert_eq "$T" "$(log_text web out)" "working directory"
}

test_cwd_relative_and_absolute() {
	mkdir -p "$T/sub" "$T/abs"
	write_ini <<EOF
[service:rel]
command = $HELPER pwd
cwd = sub
start_secs = 100ms

[service:abs]
command = $HELPER pwd
cwd = $T/abs
start_secs = 100ms
EOF
	start_daemon
	wait_log 3 rel 'out /'
	wait_log 3 abs 'out /'
	assert_eq "$T/sub" "$(log_text rel out)" "cwd = sub"
	assert_eq "$T/abs" "$(log_text abs out)" "cwd = $T/abs"
}

test_env_settings() {
	printf 'FROM_FILE=1\nSHARED=file\n# a comment\n\nQUOTED=two words\n' >"$T/service.env"
	write_ini <<EOF
[service:web]
command = $HELPER env
start_secs = 100ms
env_file = $T/service.env
env = FOO=bar
env = SHARED=ini
EOF
	start_daemon
	wait_running 5 web
	wait_log 3 web 'out FOO='
	local env
	env=$(log_text web out)
	assert_line '^FOO=bar$' "$env" "env"
	assert_line '^FROM_FILE=1$' "$env" "env"
	assert_line '^QUOTED=two words$' "$env" "env"
	assert_eq "SHARED=ini" "$(printf '%s\n' "$env" | grep '^SHARED=')" "env= overrides env_file"
}

test_user_nobody() {
	[ "$(id -u)" = 0 ] || skip "needs root to switch users"
	chmod 0755 "$T"
	one_service "ids" "user = nobody"
	wait_running 5 web
	wait_log 3 web 'out uid='
	local ids
	ids=$(log_text web out)
	assert_match '^uid=65534 euid=65534 gid=65534 egid=65534 groups=' "$ids" "ids"
	assert_no_line 'groups=(.*,)?0(,|$)' "$ids" "supplementary groups"
}

test_sigpipe_default() {
	one_service "sigpipe" "restart = never"
	wait_state 5 web EXITED
	assert_eq '{"signal": "SIGPIPE"}' "$(svc_field web last_exit)" "last_exit (SIGPIPE must not stay ignored in services)"
}

test_signal_mask_clear() {
	one_service "sleep"
	wait_running 5 web
	local blk ign
	blk=$(sed -n 's/^SigBlk:\s*//p' "/proc/$PID/status")
	ign=$(sed -n 's/^SigIgn:\s*//p' "/proc/$PID/status")
	assert_eq 0000000000000000 "$blk" "blocked signals of the service"
	assert_eq 0000000000000000 "$ign" "ignored signals of the service"
}

test_closed_output_keeps_running() {
	one_service "close-output" "stop_timeout = 2s"
	wait_running 5 web
	wait_log 3 web 'out ready$'
	sleep 0.5	# EOF on both pipes must not count as an exit
	assert_eq RUNNING "$(svc_state web)" "state after the service closed stdout and stderr"
	assert_eq "$PID" "$(svc_pid web)" "pid"
	pid_alive "$PID" || fail "pid $PID gone"
	run ctl stop web
	assert_rc 0 "nonoctl stop"
	pid_gone "$PID" || fail "pid $PID alive after stop"
	assert_eq '{"signal": "SIGTERM"}' "$(svc_field web last_exit)" "last_exit"
}

# The supervisor takes the hard RLIMIT_NOFILE for the proxy's sockets; services get the old soft one.
test_nofile_soft_limit_given_back() {
	[ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -gt 256 ] || skip "hard RLIMIT_NOFILE is $(ulimit -Hn)"
	printf '[service:web]\ncommand = sh -c "ulimit -Sn; exec sleep 100"\nstart_secs = 100ms\n' | write_ini
	ulimit -Sn 256
	start_daemon
	wait_running 5 web
	wait_log 3 web 'out [0-9]'
	assert_eq 256 "$(log_text web out)" "the service's soft limit"
	assert_eq "$(ulimit -Hn)" "$(awk '/^Max open files/ { print $4 }' /proc/$DAEMON_PID/limits)" \
		"the supervisor's soft limit"
}

run_tests "$@"
