#!/usr/bin/env bash
# test_ctl_run.sh: `nonoctl run`: a command as a transient, sandboxed service of the running
# daemon, with nonoctl's own stdin/stdout/stderr, its exit status nonoctl's, signals passed on,
# listed while it runs and removed once it ended (its log stays); --detach; credentials.
. "$(dirname "$0")/lib.sh"

# The daemon with one configured service; $T/wd is the commands' directory (nobody's).
setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (the commands run as nobody)"
	chmod 755 "$T"
	mkdir -p "$T/wd" && chown 65534:65534 "$T/wd"
	{
		printf '[service:idle]\ncommand = sleep 1000\nstart_secs = 0\n'
		printf '%s\n' "$@"
	} | write_ini
	start_daemon
}

# nrun_exec [FLAGS] -- CMD...: become nonoctl run in $T/wd, as nobody, with $T/wd granted
# (only in a subshell: bg, $(...), a pipeline); nrun: the same in a subshell of its own.
nrun_exec() {
	cd "$T/wd" && exec "$NONOCTL" -S "$SOCK" run --user nobody --allow "$T/wd" \
		--env "NONO_IT_DIR=$T" "$@"
}

nrun() {
	(nrun_exec "$@")
}

transient_names() {	# the transient services in status, one a line
	ctl status --json | "$PY" -c '
import json, sys
for s in json.load(sys.stdin):
    if s.get("transient"):
        print(s["name"])'
}

no_service() {	# NAME: not in status
	! ctl status --json | "$PY" -c '
import json, sys
sys.exit(0 if any(s["name"] == sys.argv[1] for s in json.load(sys.stdin)) else 1)' "$1"
}

test_output_goes_to_the_terminal_not_the_log() {
	setup
	# ls lists the shell's fds straight to stdout: a pipeline's pipe (or the shell's own glob
	# of the directory) would show up among them
	run_split nrun --name out -- sh -c 'echo to-stdout; echo to-stderr >&2; ls /proc/$$/fd'
	assert_rc 0 "nonoctl run"
	assert_eq "to-stdout
0
1
2" "$OUT" "the command's stdout (and its descriptors)"
	assert_eq "to-stderr" "$ERR" "the command's stderr"
	[ -f "$LOGDIR/out.log" ] || fail "no log file $LOGDIR/out.log after the run"
	assert_eq "" "$(log_text out out)$(log_text out err)" "output in the log"
	assert_line '^started pid [0-9]+$' "$(log_events out)" "log events"
	assert_line '^exited with code 0$' "$(log_events out)" "log events"
	wait_for 3 no_service out || fail "'out' still listed after its run: $(ctl status)"
	run ctl logs out
	assert_rc 0 "nonoctl logs of a run that ended"
	assert_line "^$TS_RE nono exited with code 0$" "$OUT" "its log"
}

# In a terminal: the command has it as its 0-2 (not as its controlling terminal: it is in a
# session of its own), and a typed ^C, which reaches nonoctl, is passed on.
test_terminal_and_typed_ctrl_c() {
	setup
	"$PY" - "$NONOCTL" "$SOCK" "$T/wd" >"$T/pty.out" 2>&1 <<-'EOF'
	import os, pty, select, sys, time
	nonoctl, sock, wd = sys.argv[1:4]
	script = ('test -t 0 && test -t 1 && test -t 2 && echo all-ttys; '
	          'trap "echo got-INT; exit 5" INT; echo ready; while :; do sleep 0.1; done')
	pid, fd = pty.fork()
	if pid == 0:
	    os.chdir(wd)
	    os.execv(nonoctl, [nonoctl, "-S", sock, "run", "--user", "nobody", "--allow", wd,
	                       "--", "sh", "-c", script])
	out, sent, deadline = b"", False, time.time() + 15
	while time.time() < deadline:
	    r, _, _ = select.select([fd], [], [], 0.1)
	    if r:
	        try:
	            data = os.read(fd, 1024)
	        except OSError:
	            break
	        if not data:
	            break
	        out += data
	    if b"ready" in out and not sent:
	        os.write(fd, b"\x03")
	        sent = True
	_, st = os.waitpid(pid, 0)
	text = out.decode(errors="replace").replace("\r", "").replace("^C", "")  # the echo
	print("\n".join(l for l in text.split("\n") if l in ("all-ttys", "ready", "got-INT")))
	print("exit", os.waitstatus_to_exitcode(st))
	EOF
	assert_eq "all-ttys
ready
got-INT
exit 5" "$(cat "$T/pty.out")" "the command in a terminal, and ^C typed there"
}

test_stdin_reaches_the_command() {
	setup
	OUT=$(printf 'line one\nline two\n' | nrun -- cat 2>&1)
	RC=$?
	assert_rc 0 "nonoctl run -- cat"
	assert_eq "line one
line two" "$OUT" "what cat read and wrote back"
}

test_exit_status_is_nonoctls() {
	setup
	run nrun -- sh -c 'exit 3'
	assert_rc 3 "command exiting 3"
	run nrun -- sh -c 'kill -TERM $$'
	assert_rc 143 "command killed by SIGTERM"
	run nrun -- no-such-command
	assert_rc 127 "command not found"
	assert_eq "nonoctl run: 'run-3' did not start: command 'no-such-command' not found in PATH" \
		"$OUT" "message"
	assert_eq "$T/wd" "$(nrun -- pwd)" "the command's working directory is nonoctl's"
}

test_sandbox_failure_is_125() {
	setup
	run nrun --profile no-such-profile -- true
	assert_rc 125 "a profile that does not exist"
	assert_match "^nonoctl run: sandbox: profile 'no-such-profile' not found" "$OUT" "message"
	run bash -c "cd '$T/wd' && exec '$NONOCTL' -S '$SOCK' run -- true"
	assert_rc 125 "as root without --user"
	assert_eq "nonoctl run: as root, run needs --user NAME (an unprivileged account): agents never run as root" \
		"$OUT" "message"
	run nrun -- sh -c 'echo x > /etc/nono-run-test'
	assert_rc 2 "a write the sandbox refuses is the command's own failure"
	[ ! -e /etc/nono-run-test ] || { rm -f /etc/nono-run-test; fail "the command wrote to /etc"; }
	run nrun --bogus-flag -- true
	assert_rc 2 "an unknown flag"
	assert_match "^nonoctl run: unknown flag '--bogus-flag'" "$OUT" "message"
}

test_listed_while_running_then_removed() {
	setup
	local pid name
	bg "$T/run.out" nrun_exec -- sleep 30
	pid=$BG_PID
	wait_for 5 eval '[ -n "$(transient_names)" ]' || fail "no transient service in: $(ctl status)"
	name=$(transient_names)
	assert_eq "run-1" "$name" "its name"
	wait_running 5 run-1
	run ctl status
	assert_line "^run-1 +RUNNING +pid $PID, uptime [0-9:]+, restarts 0, transient \\(nonoctl run\\)$" \
		"$OUT" "status line"
	assert_eq "$(cat "/proc/$PID/status" | sed -n 's/^Uid:\s*\([0-9]*\).*/\1/p')" 65534 "the command's uid"
	assert_eq "default" "$(svc_field run-1 profile)" "profile"
	assert_eq "netns" "$(svc_field run-1 network)" "network"
	assert_eq "false" "$(svc_field idle transient)" "a configured service is not transient"
	kill -INT "$pid"
	wait "$pid"
	RC=$?
	assert_rc 130 "nonoctl run after its ^C"
	wait_for 3 no_service run-1 || fail "run-1 still listed: $(ctl status)"
	pid_gone "$PID" || fail "pid $PID still alive"
	[ -f "$LOGDIR/run-1.log" ] || fail "the log of run-1 is gone"
	assert_line '^killed by signal SIGINT$' "$(log_events run-1)" "how it ended, in its log"
	run ctl status
	assert_no_line '^run-1 ' "$OUT" "status after the run"
}

# ^C reaches nonoctl (the command is in its own session): it passes INT on, the command's
# trap runs, and nonoctl keeps waiting for it to end.
test_signals_are_passed_on() {
	setup
	bg "$T/run.out" nrun_exec --name trap -- sh -c \
		'trap "echo got INT; exit 7" INT; trap "echo got HUP" HUP; echo ready; while :; do sleep 0.1; done'
	wait_for 5 grep -q ready "$T/run.out" || fail "not ready: $(cat "$T/run.out")"
	kill -HUP "$BG_PID"
	wait_for 3 grep -q "got HUP" "$T/run.out" || fail "no HUP: $(cat "$T/run.out")"
	state_is trap RUNNING || fail "the command ended after HUP"
	kill -INT "$BG_PID"
	wait "$BG_PID"
	RC=$?
	assert_rc 7 "the command's exit after its INT trap"
	# (the group's sleep dies of the HUP too, and sh says "Hangup")
	assert_eq "ready
got HUP
got INT" "$(grep -v '^Hangup$' "$T/run.out")" "output"
}

test_nonoctl_killed_stops_the_command() {
	setup
	bg "$T/run.out" nrun_exec --name orphan -- sleep 30
	local client=$BG_PID
	wait_running 5 orphan
	kill -KILL "$client"
	wait_for 5 pid_gone "$PID" || fail "the command (pid $PID) outlived its nonoctl"
	wait_for 3 no_service orphan || fail "orphan still listed: $(ctl status)"
	assert_line '^killed by signal SIGTERM$' "$(log_events orphan)" "stopped with its stop signal"
	assert_line "service 'orphan': its nonoctl run went away: stopping it" "$(cat "$T/daemon.err")" \
		"daemon log"
}

test_detach() {
	setup
	local t0 elapsed
	t0=$(now_ms)
	run nrun --detach --name bg -- sh -c 'echo to-the-log; sleep 1.5; echo bye'
	elapsed=$(($(now_ms) - t0))
	assert_rc 0 "nonoctl run --detach"
	assert_eq "bg" "$OUT" "what --detach prints"
	assert_le "$elapsed" 1000 "ms until --detach returned"
	assert_eq RUNNING "$(svc_state bg)" "state"
	assert_eq true "$(svc_field bg transient)" "transient"
	wait_for 5 no_service bg || fail "bg still listed after it ended: $(ctl status)"
	assert_eq "to-the-log
bye" "$(log_text bg out)" "its output, in its log"
	assert_line '^exited with code 0$' "$(log_events bg)" "log events"
	# a detached run that cannot start says so, and is removed too
	run nrun --detach -- no-such-command
	assert_rc 127 "--detach of a missing command"
	wait_for 3 eval '[ -z "$(transient_names)" ]' || fail "still listed: $(ctl status)"
}

test_concurrent_runs_get_distinct_names() {
	setup
	local a b
	bg "$T/a.out" nrun_exec -- sleep 30
	a=$BG_PID
	bg "$T/b.out" nrun_exec -- sleep 30
	b=$BG_PID
	wait_for 5 eval '[ "$(transient_names | wc -l)" = 2 ]' || fail "two runs not listed: $(ctl status)"
	assert_eq "run-1 run-2" "$(transient_names | sort | tr '\n' ' ' | sed 's/ $//')" "names"
	wait_running 5 run-1
	wait_running 5 run-2
	kill -TERM "$a" "$b"
	wait "$a"
	RC=$?
	assert_rc 143 "first run"
	wait "$b"
	RC=$?
	assert_rc 143 "second run"
	wait_for 3 eval '[ -z "$(transient_names)" ]' || fail "still listed: $(ctl status)"
}

test_name_clash_is_refused() {
	setup
	bg "$T/run.out" nrun_exec --name job -- sleep 30
	wait_running 5 job
	run nrun --name job -- true
	assert_rc 125 "a second run named 'job'"
	assert_eq "nonoctl run: a service named 'job' already exists; hint: another --name, or none for run-N" \
		"$OUT" "message"
	run nrun --name idle -- true
	assert_rc 125 "a run named as a configured service"
	run nrun --name 'bad/name' -- true
	assert_rc 125 "a name no service may have"
	assert_match "^nonoctl run: --name 'bad/name': not a service name" "$OUT" "message"
	run ctl restart job
	assert_rc 1 "restart of a transient service"
	assert_eq "nonoctl: service 'job' is transient (nonoctl run): it runs once, it cannot be restarted" \
		"$OUT" "message"
	run ctl start job
	assert_rc 1 "start of a transient service"
	assert_eq "nonoctl: service 'job' is transient (nonoctl run): it runs once, it cannot be started again" \
		"$OUT" "message"
	run ctl stop all
	assert_rc 0 "stop all"
	assert_eq "idle: stopped" "$OUT" "stop all: the configuration's services"
	assert_eq "$PID" "$(svc_pid job)" "job untouched"
	run ctl stop job
	assert_rc 0 "stop of a transient service"
	wait "$BG_PID"
	RC=$?
	assert_rc 143 "its nonoctl run, once stopped"
}

test_reload_keeps_transient_services() {
	setup
	bg "$T/run.out" nrun_exec --name keep -- sleep 30
	wait_running 5 keep
	local pid=$PID
	printf '[service:other]\ncommand = sleep 1000\nstart_secs = 0\n' | write_ini "$T/more.ini"
	sed -n '/^\[service:other\]/,$p' "$T/more.ini" >>"$INI"
	run ctl reload
	assert_rc 0 "reload"
	assert_eq "added: other
unchanged: idle" "$OUT" "reload"
	assert_eq RUNNING "$(svc_state keep)" "the transient service after a reload"
	assert_eq "$pid" "$(svc_pid keep)" "its pid"
	# A file that takes a running transient service's name is refused as a whole.
	printf '[service:keep]\ncommand = sleep 1\nsandbox = off\n' >>"$INI"
	run ctl reload
	assert_rc 1 "reload naming a transient service"
	assert_line "^$INI:[0-9]+: service 'keep': a transient service \\(nonoctl run\\) of that name is running" \
		"$OUT" "message"
	assert_eq "$pid" "$(svc_pid keep)" "its pid after the refused reload"
	kill -INT "$BG_PID"
	wait "$BG_PID"
	RC=$?
	assert_rc 130 "nonoctl run"
}

test_shutdown_ends_the_run() {
	setup
	bg "$T/run.out" nrun_exec --name late -- sleep 30
	wait_running 5 late
	run ctl shutdown
	assert_rc 0 "shutdown"
	wait "$BG_PID"
	RC=$?
	assert_rc 143 "nonoctl run when the supervisor shut down"
	wait_daemon_exit 5
}

# The daemon's side of the protocol: a run without its terminal is refused; with three
# descriptors it starts, and its events follow the answer.
test_protocol() {
	setup
	local opts reply
	opts="{\"argv\":[\"true\"],\"user\":\"nobody\"}"
	reply=$(raw_request "{\"cmd\":\"run\",\"cwd\":\"$T/wd\",\"opts\":$opts}")
	assert_eq "false" "$(json_get "$reply" 'd["ok"]')" "a run without a terminal"
	assert_eq 125 "$(json_get "$reply" 'd["status"]')" "its status"
	assert_match "carries no terminal" "$(json_get "$reply" 'd["error"]')" "error"
	"$PY" - "$SOCK" "$T/wd" >"$T/proto.out" <<-'EOF'
	import array, json, os, socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(10)
	s.connect(sys.argv[1])
	r, w = os.pipe()
	req = {"cmd": "run", "cwd": sys.argv[2],
	       "opts": {"argv": ["sh", "-c", "echo via-pipe; exit 4"], "user": "nobody"}}
	s.sendmsg([json.dumps(req).encode() + b"\n"],
	          [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, w, w]))])
	os.close(w)
	f = s.makefile("rb")
	for _ in range(3):
	    print(f.readline().decode().strip())
	print(os.read(r, 100).decode().strip())
	EOF
	assert_eq '{"ok":true,"name":"run-1"}
{"ok":true,"event":"started","name":"run-1","pid":PID}
{"ok":true,"event":"exit","name":"run-1","pid":PID,"code":4,"status":4}
via-pipe' "$(sed -E 's/"pid":[0-9]+/"pid":PID/' "$T/proto.out")" "the conversation"
	reply=$(raw_request '{"cmd":"signal","name":"idle","signal":"BOGUS"}')
	assert_match "must be a signal name" "$(json_get "$reply" 'd["error"]')" "a bad signal"
	reply=$(raw_request '{"cmd":"signal","signal":"TERM"}')
	assert_match "no run on this connection" "$(json_get "$reply" 'd["error"]')" "no run"
}

# The credential proxy: the command holds a phantom, the upstream sees the real key; and
# without --credential-source the fleet's [credential:NAME] is used.
test_credentials_phantom_and_real_key() {
	[ "$(id -u)" = 0 ] || skip "needs root (the commands run as nobody)"
	plain_upstream '{"id":"chatcmpl-1"}'
	local port real fleet phantom
	port=$(cat "$T/upstream.port")
	real="sk-run-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	fleet="sk-fleet-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	printf '%s\n' "$real" >"$T/key" && chmod 600 "$T/key"
	printf '%s\n' "$fleet" >"$T/fleet.key" && chmod 600 "$T/fleet.key"
	setup "[credential:openai]" "source = file:$T/fleet.key" "upstream = http://127.0.0.1:$port/v1"
	cat >"$T/wd/agent.sh" <<-'SH'
	echo "key=$OPENAI_API_KEY"
	curl -s -H "Authorization: Bearer $OPENAI_API_KEY" -d '{}' "$OPENAI_BASE_URL/chat/completions"
	echo
	SH
	run_split nrun --proxy-credential openai --credential-source "openai=file:$T/key" \
		--credential-upstream "openai=http://127.0.0.1:$port/v1" -- sh agent.sh
	assert_rc 0 "nonoctl run with a credential"
	phantom=$(sed -n 's/^key=//p' <<<"$OUT")
	assert_match '^[0-9a-f]{64}$' "$phantom" "the command's OPENAI_API_KEY is a phantom"
	assert_eq '{"id":"chatcmpl-1"}' "$(tail -n 1 <<<"$OUT")" "the upstream's answer"
	assert_eq "Bearer $real" "$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[0])["auth"])' "$T/upstream.log")" \
		"the upstream got the real key"
	# the fleet's definition of the credential, when the flags give none
	run_split nrun --proxy-credential openai -- sh agent.sh
	assert_rc 0 "nonoctl run with the fleet's credential"
	assert_eq "Bearer $fleet" "$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[1])["auth"])' "$T/upstream.log")" \
		"the upstream got the fleet's key"
	! grep -rq -- "$real\|$fleet" "$T/wd" "$LOGDIR" "$T/daemon.err" || fail "a real key in files or logs"
	# a key file the command could read: refused
	cp "$T/key" "$T/wd/key" && chmod 600 "$T/wd/key"
	run nrun --proxy-credential openai --credential-source "openai=file:$T/wd/key" -- true
	assert_rc 125 "a key file inside a grant"
	assert_contains "$T/wd/key" "$OUT" "message names the file"
	rm "$T/wd/key"
	# a key that cannot be loaded: no start
	run nrun --proxy-credential openai --credential-source "openai=file:$T/missing" -- true
	assert_rc 125 "a credential that does not load"
	assert_match "^nonoctl run: 'run-3' did not start: credential 'openai' \\(file:$T/missing\\)" "$OUT" \
		"message"
}

# What Landlock refused the run, read by the daemon from kernel audit: nonoctl's last lines name
# each kind with the flag that would allow it (as nono-supervise run's do), the run's log with
# the profile key. Audit is turned on only after the daemon started: it listens all along.
test_refusals_counted_and_logged() {
	[ "$(id -u)" = 0 ] || skip "needs root (the commands run as nobody)"
	kernel_audit off
	setup
	grep -q "Landlock's refusals are logged once kernel audit is on: kernel audit is off" "$T/daemon.err" ||
		fail "the daemon did not say audit is off: $(cat "$T/daemon.err")"
	kernel_audit on
	run nrun -- sh -c 'cat /etc/subuid; cat /etc/subuid; exit 4'
	assert_rc 4 "the command's exit status"
	assert_eq "cat: /etc/subuid: Permission denied
cat: /etc/subuid: Permission denied
nonoctl run: Landlock refused 'run-1' 2 accesses (as the kernel reported them):
  2x read /etc/subuid: allow with --read-file /etc/subuid" "$OUT" "what nonoctl said"
	assert_eq "landlock refused: read /etc/subuid: allow with filesystem.read_file /etc/subuid" \
		"$(log_events run-1 | grep '^landlock')" "the run's log"
}

run_tests "$@"
