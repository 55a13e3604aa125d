#!/usr/bin/env bash
# test_sandbox.sh: how the supervisor presents the sandbox: checks at load, status, explain,
# failures before execve. What the sandbox denies is tests/probes' job.
. "$(dirname "$0")/lib.sh"

# A sandboxed service as nobody, in a workdir nobody can enter.
sandboxed_ini() {	# [extra ini lines...]
	chmod 755 "$T"
	mkdir -p "$T/wd" && chown 65534:65534 "$T/wd"
	{
		printf '[service:web]\ncommand = %s sleep\nuser = nobody\ncwd = wd\nprofile = default\n' "$HELPER"
		printf 'start_secs = 100ms\nread = %s\n' "$(dirname "$HELPER")"	# the helper binary
		printf '%s\n' "$@"
	} | write_ini
}

test_root_needs_a_user() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	printf '[supervisor]\nsocket = %s\nlog_dir = %s\n[service:web]\ncommand = %s sleep\n' \
		"$SOCK" "$LOGDIR" "$HELPER" >"$INI"
	run "$SUPERVISE" -n "$INI"
	assert_rc 1 "-n on a sandboxed root service without user"
	assert_eq "$INI:4: service 'web': as root, a sandboxed service needs user = NAME (an unprivileged account), or sandbox = off" "$OUT" "error"
}

test_unknown_profile_refused() {
	sandboxed_ini
	sed -i 's/^profile = default$/profile = no-such-profile/' "$INI"
	run "$SUPERVISE" -n "$INI"
	assert_rc 1 "-n with an unknown profile"
	assert_match "^$INI:[0-9]+: service 'web': .*no-such-profile.*" "$OUT" "error names the profile"
}

test_sandboxed_status_and_json() {
	sandboxed_ini
	start_daemon
	wait_running 5 web
	run ctl status web
	assert_rc 0 "status"
	assert_match "^web +RUNNING +pid $PID, uptime 0:00:0[0-9], restarts 0$" "$OUT" "status line (no SANDBOX OFF)"
	assert_eq on "$(svc_field web sandbox)" "sandbox"
	assert_eq default "$(svc_field web profile)" "profile"
	assert_eq netns "$(svc_field web network)" "network"
	assert_eq "$(readlink /proc/$PID/ns/net)" "$(readlink /proc/$PID/ns/net)" "netns"
	[ "$(readlink /proc/$PID/ns/net)" != "$(readlink /proc/self/ns/net)" ] ||
		fail "the service shares the host's network namespace"
	assert_eq "65534" "$(awk '/^Uid:/ { print $2 }' /proc/$PID/status)" "uid"
	assert_eq "0000000000000000" "$(awk '/^CapEff:/ { print $2 }' /proc/$PID/status)" "CapEff"
	assert_eq "1" "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$PID/status)" "NoNewPrivs"
	assert_eq "2" "$(awk '/^Seccomp:/ { print $2 }' /proc/$PID/status)" "Seccomp mode"
}

test_sandbox_off_is_loud() {
	printf '[service:web]\ncommand = %s sleep\n' "$HELPER" | write_ini	# adds sandbox = off
	start_daemon
	wait_running 5 web
	run ctl status web
	assert_match "^web +RUNNING +pid $PID, uptime 0:00:0[0-9], restarts 0, SANDBOX OFF$" "$OUT" "status line"
	assert_eq OFF "$(svc_field web sandbox)" "sandbox"
	run ctl explain web
	assert_rc 0 "explain"
	assert_match ".*sandbox: OFF.*UNCONFINED.*" "$OUT" "explain says it"
}

test_explain_online_and_offline() {
	sandboxed_ini
	start_daemon
	wait_running 5 web
	run ctl explain web
	assert_rc 0 "nonoctl explain"
	local online=$OUT
	for want in "service: web" "user: nobody" "landlock: ABI [0-9]+" "network namespace: private, lo only" \
		"proxy listener: 127.0.0.1:8383" "profile: default" "  rw  dir  $T/wd +workdir|  r   dir  /usr/bin .*" \
		"  .*/\.ssh +group deny_credentials"; do
		grep -Eq -- "^$want\$" <<<"$online" || fail "explain has no line /$want/: $online"
	done
	run "$SUPERVISE" --explain web "$INI"
	assert_rc 0 "nono-supervise --explain"
	grep -q "^network namespace: private, lo only (when running)$" <<<"$OUT" || fail "offline explain: $OUT"
	run ctl explain nope
	assert_rc 1 "explain of an unknown service"
}

test_failure_before_exec_is_one_clear_line() {
	sandboxed_ini "read = $T/ro"
	mkdir -p "$T/ro"
	start_daemon
	wait_running 5 web
	run ctl stop web
	rmdir "$T/ro"	# the grant's path vanishes: the next start cannot build the sandbox
	run ctl start web
	assert_rc 1 "start without its sandbox"
	assert_eq FAILED "$(svc_state web)" "state"
	assert_match "^sandbox: .*$T/ro.*" "$(svc_field web reason)" "reason names the path"
	assert_eq 1 "$(log_events web | grep -c '^failed to start: sandbox: ')" "one line in the log"
}

test_environment_rules() {
	sandboxed_ini "env = FROM_INI=1" "env = LANG=from-ini"
	cat >"$T/agent.json" <<-'JSON'
	{"extends": "default",
	 "environment": {"deny_vars": ["TZ"], "set_vars": {"FROM_PROFILE": "yes", "FROM_INI": "profile"}}}
	JSON
	sed -i "s|^profile = default\$|profile = $T/agent.json|; s|^command = \(.*\) sleep\$|command = \1 env|" "$INI"
	TZ=Europe/Paris start_daemon
	wait_running 5 web
	wait_log 3 web 'out FROM_PROFILE='
	local env
	env=$(log_text web out | sort)
	grep -qx 'FROM_PROFILE=yes' <<<"$env" || fail "set_vars missing: $env"
	grep -qx 'FROM_INI=1' <<<"$env" || fail "env= must win over set_vars: $env"
	grep -qx 'LANG=from-ini' <<<"$env" || fail "env= must win over the base: $env"
	! grep -q '^TZ=' <<<"$env" || fail "deny_vars TZ still there: $env"
	grep -qx 'HOME=/nonexistent' <<<"$env" || fail "HOME of nobody missing: $env"
	! grep -q '^PYENV\|^SHELL=\|^SSH_\|^OLDPWD=' <<<"$env" ||
		fail "the supervisor's own environment leaked: $env"
}

# Without user namespaces (unshare fails) and as an unprivileged supervisor, there is no
# private netns: Landlock's port rule and seccomp confine the network, and status says so.
test_port_only_fallback_is_shown() {
	[ "$(id -u)" = 0 ] || skip "needs root to start the supervisor as nobody"
	chmod 755 "$T"
	mkdir -p "$T/run" && chown 65534:65534 "$T/run"
	SOCK=$T/run/ctl.sock LOGDIR=$T/run/logs
	printf '[service:web]\ncommand = %s sleep\nprofile = default\nread = %s\n' \
		"$HELPER" "$(dirname "$HELPER")" | write_ini
	(cd "$T/run" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$HELPER" deny-unshare "$SUPERVISE" -f "$INI" >"$T/daemon.out" 2>"$T/daemon.err") &
	DAEMON_PID=$!
	track "$DAEMON_PID"
	echo "$DAEMON_PID" >"$T/.daemon"
	wait_for 5 daemon_ready || fail "no daemon: $(cat "$T/daemon.err")"
	wait_running 5 web
	assert_eq "port-only (weaker)" "$(svc_field web network)" "network"
	run ctl status web
	assert_match "^web +RUNNING +pid $PID, uptime 0:00:0[0-9], restarts 0, network: port-only \(weaker\), kill: process-group$" "$OUT" "status line"
	[ "$(readlink /proc/$PID/ns/net)" = "$(readlink /proc/self/ns/net)" ] ||
		fail "expected the host's network namespace"
	assert_eq "1" "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$PID/status)" "NoNewPrivs"
	assert_eq "2" "$(awk '/^Seccomp:/ { print $2 }' /proc/$PID/status)" "Seccomp mode"
	run ctl explain web
	grep -q "^network namespace: NONE: port-only confinement (weaker)$" <<<"$OUT" ||
		fail "explain: $OUT"
}

# What Landlock refused a service, as kernel audit reports it: one line in its log per kind,
# naming the profile key that would allow it or the deny that protects it; all counted in
# its status. (Nothing the sandbox does changes; run's footer is test_run.sh's.)
test_refusals_logged_and_counted() {
	[ "$(id -u)" = 0 ] || skip "needs root (reads kernel audit)"
	kernel_audit on
	sandboxed_ini
	printf '{"extends": "default", "filesystem": {"deny": ["/etc/hostname"]}}\n' >"$T/agent.json"
	sed -i "s|^profile = default\$|profile = $T/agent.json|" "$INI"
	# /etc/hostname (denied on purpose) and /etc/subuid (not granted), each read twice; a
	# file made in /var/tmp (read-only there); then sleep.
	sed -i "s|^command = .*|command = /bin/sh -c 'cat /etc/hostname /etc/subuid /etc/hostname /etc/subuid; touch /var/tmp/nono-refused-$$; exec sleep 100'|" "$INI"
	start_daemon
	wait_running 5 web
	wait_for 5 eval '[ "$(svc_field web refused)" = 5 ]' ||
		fail "refused is '$(svc_field web refused)', not 5; log: $(log_events web)"
	assert_eq "started pid $PID
landlock refused: read /etc/hostname: protected by profile $T/agent.json (filesystem.deny), not granted on purpose
landlock refused: read /etc/subuid: allow with filesystem.read_file /etc/subuid
landlock refused: create a file in /var/tmp: allow with filesystem.write /var/tmp" "$(log_events web)" "the service's log"
	[ ! -e "/var/tmp/nono-refused-$$" ] || fail "the service made a file in /var/tmp"
	run ctl status web
	assert_match "^web +RUNNING +pid $PID, uptime 0:00:0[0-9], restarts 0, landlock refused 5 \(in its log\)$" "$OUT" "status line"
	# A new run counts its own.
	run ctl restart web
	assert_rc 0 "restart"
	wait_running 5 web
	wait_for 5 eval '[ "$(svc_field web refused)" = 5 ]' ||
		fail "after a restart refused is '$(svc_field web refused)', not 5"
}

# A run that is refused many things logs the first 64 kinds, says so once, and counts all.
test_refusals_past_the_limit_are_counted() {
	[ "$(id -u)" = 0 ] || skip "needs root (reads kernel audit)"
	kernel_audit on
	sandboxed_ini
	mkdir "$T/files"
	for i in $(seq 70); do echo "$i" >"$T/files/f$i"; done
	chmod 644 "$T"/files/*
	# 70 files the default profile does not grant (/tmp is write-only), then 70 again
	sed -i "s|^command = .*|command = /bin/sh -c 'for i in \$(seq 70) \$(seq 70); do cat $T/files/f\$i; done 2>/dev/null; exec sleep 100'|" "$INI"
	start_daemon
	wait_running 5 web
	wait_for 5 eval '[ "$(svc_field web refused)" = 140 ]' ||
		fail "refused is '$(svc_field web refused)', not 140"
	assert_eq 64 "$(log_events web | grep -c '^landlock refused: read ')" "refusals logged"
	assert_eq "landlock refused: read $T/files/f1: allow with filesystem.read_file $T/files/f1" \
		"$(log_events web | grep -m1 '^landlock refused')" "the first"
	assert_eq "landlock: over 64 kinds of refusal; more are counted only" \
		"$(log_events web | grep '^landlock:')" "said once"
}

run_tests "$@"
