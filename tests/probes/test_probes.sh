#!/usr/bin/env bash
# test_probes.sh: the escape-probe suite (REFERENCE.md §5, issue 3 §3). Starts the real daemon
# with one sandboxed service per built-in profile running nono-probe, a sandboxed sibling canary
# whose pid the probes attack, a D-Bus session bus and host-netns listeners as targets; then real
# tools (bash, curl, node) as more sandboxed services, and a positive Node.js agent under
# node-agent. Every probe result is compared with tests/probes/expected/<table>.txt and counts as
# one test ("ok - default/read_ssh_key"). Ends with "N passed, N failed"; exits 1 on any failure.
# Environment: BUILD, KEEP=1 (keep the temp dir when something failed), PROBE_BIN (default
# $BUILD/tests/nono-probe; compiled with cc when missing), PROBE_BASE (parent of the temp dir,
# default /srv: not /tmp, which every profile grants for writing).
. "$(dirname "$0")/../integration/lib.sh"

PDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXPECTED=$PDIR/expected
PROFILES=(default node-agent python-agent claude-code codex)
PROBE_BASE=${PROBE_BASE:-/srv}
PROBE_BIN=${PROBE_BIN:-$BUILD/tests/nono-probe}
PASSED=0
FAILED=0
SHM_ID=
T=

ok() {
	PASSED=$((PASSED + 1))
	echo "ok - $1"
}

nok() {
	FAILED=$((FAILED + 1))
	echo "not ok - $1"
}

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit
}

# lib.sh's helpers (wait_state, start_daemon...) call fail: a setup failure ends the suite.
fail() {
	nok "probes setup: $*"
	if [ -n "$T" ] && [ -s "$T/daemon.err" ]; then
		echo "#   daemon stderr (last 15 lines):"
		tail -n 15 "$T/daemon.err" | sed 's/^/#   /'
	fi
	finish
}

skip() {
	echo "ok - probes # SKIP $*"
	finish
}

cleanup() {
	local rc=$?
	[ -n "$T" ] || return
	cleanup_dir "$T" >/dev/null 2>&1
	[ -n "$SHM_ID" ] && ipcrm -m "$SHM_ID" 2>/dev/null
	if [ -n "${KEEP:-}" ] && [ "$FAILED" -gt 0 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
	return $rc
}

# ---- setup ----

[ "$(id -u)" = 0 ] || skip "needs root (services run as user nobody in their own network namespace)"
for b in "$SUPERVISE" "$NONOCTL"; do
	[ -x "$b" ] || fail "$b is missing (build first: ninja -C $BUILD)"
done
command -v dbus-daemon >/dev/null || fail "dbus-daemon is missing (apt-get install dbus-daemon)"

T=$(mktemp -d "$PROBE_BASE/nono-probes.XXXXXX") || fail "cannot make a temp dir under $PROBE_BASE"
trap cleanup EXIT
export NONO_IT_DIR=$T
chmod 0755 "$T"
SOCK=$T/run/ctl.sock
LOGDIR=$T/logs
INI=$T/services.ini
DAEMON_PID=
mkdir -p "$T/bin" "$T/run" "$LOGDIR"

if [ -x "$PROBE_BIN" ]; then
	cp "$PROBE_BIN" "$T/bin/nono-probe"
else
	echo "# $PROBE_BIN missing: compiling tests/probes/probe.c with cc"
	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra "$PDIR/probe.c" -o "$T/bin/nono-probe" ||
		fail "cannot compile $PDIR/probe.c"
fi
cp "$T/bin/nono-probe" "$T/bin/nono-probe-suid"
chmod 4755 "$T/bin/nono-probe-suid"
cp "$PDIR/tools.sh" "$PDIR/tools.js" "$T/bin/"
chmod 0755 "$T/bin"/*.sh
chmod 0644 "$T/bin"/*.js

# The kernel must have what the tables assume: skip (never pass) below Landlock ABI 6.
abi=$("$T/bin/nono-probe" landlock_abi | awk '{ print $3 }')
case $abi in
ABI[6-9] | ABI[1-9][0-9]) ;;
*) skip "Landlock ABI 6 needed for signal and abstract-socket scopes (have: $abi)" ;;
esac
echo "# Landlock $abi, kernel $(uname -r)"

# Targets outside every grant. Files are DAC-readable/writable by nobody on purpose, so an
# EACCES can only come from Landlock.
mk() {	# MODE PATH [CONTENT]
	printf '%s\n' "${3:-x}" >"$2"
	chmod "$1" "$2"
}
mkdir -p "$T/home/.ssh" "$T/home/.aws" "$T/home/.gnupg" "$T/secret" "$T/outside" "$T/ro"
mk 0644 "$T/home/.ssh/id_rsa" "-----BEGIN OPENSSH PRIVATE KEY----- probe"
mk 0644 "$T/home/.aws/credentials" "aws_secret_access_key = probe"
mk 0644 "$T/home/.gnupg/secring.gpg" "gpg probe"
mk 0666 "$T/home/.bashrc" "export TOKEN=probe"
mk 0666 "$T/home/.gitconfig" "[user] name = probe"
mk 0644 "$T/secret/secret" "top secret"
mk 0600 "$T/secret/mine" "nobody's own secret"
chown 65534:65534 "$T/secret/mine"
chmod 0777 "$T/outside" "$T/ro"
mk 0666 "$T/outside/swap" "outside"
mk 0666 "$T/ro/file" "read-only grant"
: >"$T/ro/empty"
chmod 0666 "$T/ro/empty"

mkwd() {	# NAME: a workdir owned by nobody, with the files the probes move around
	local wd=$T/wd-$1
	mkdir -p "$wd/subdir"
	ln -s "$T/secret/secret" "$wd/planted"
	for f in victim1 victim2 victim3; do
		mk 0644 "$wd/$f" "$f"
	done
	chown -hR 65534:65534 "$wd"
	chmod 0700 "$wd"
}
for p in "${PROFILES[@]}" canary tools-sh tools-node; do
	mkwd "$p"
done
mk 0644 "$T/wd-canary/notes.txt" "the sibling's notes"

# The positive Node.js agent: a script and a hand-made package in ./node_modules.
mkdir -p "$T/wd-agent/node_modules/tinylib"
cp "$PDIR/agent.js" "$T/wd-agent/agent.js"
printf '{"name": "tinylib", "version": "1.0.0", "main": "index.js"}\n' \
	>"$T/wd-agent/node_modules/tinylib/package.json"
printf "'use strict';\nexports.hello = () => 'hello-from-tinylib';\n" \
	>"$T/wd-agent/node_modules/tinylib/index.js"
chown -R 65534:65534 "$T/wd-agent"
chmod 0700 "$T/wd-agent"

# A D-Bus session bus (bounded by timeout; cleanup kills it too).
mkdir -p "$T/dbus"
timeout 600 dbus-daemon --session --nofork --nopidfile --address="unix:path=$T/dbus/bus.sock" \
	>"$T/dbus.log" 2>&1 &
track $!
wait_for 5 test -S "$T/dbus/bus.sock" || fail "dbus-daemon did not start: $(cat "$T/dbus.log")"

# Listeners in the host netns (TCP, UDP, abstract unix); every hit is logged.
ABSTRACT=nono-probe-${T##*.}
timeout 900 "$PY" "$PDIR/host_listeners.py" "$T/host-ports" "$T/host-hits" "$ABSTRACT" \
	>"$T/listeners.log" 2>&1 &
track $!
wait_for 5 test -s "$T/host-ports" || fail "host listeners did not start: $(cat "$T/listeners.log")"
read -r tcp udp _ <"$T/host-ports"
HOST_PORT=${tcp#tcp=}
UDP_PORT=${udp#udp=}

# A SysV shared memory segment of the host, mode 0666.
SHM_ID=$("$T/bin/nono-probe" --mk-shm) || fail "cannot create a SysV shm segment"

# ---- the services ----

service() {	# NAME PROFILE WORKDIR COMMAND...: one sandboxed service block
	local name=$1 profile=$2 wd=$3
	shift 3
	printf '[service:%s]\ncommand = %s\nprofile = %s\nuser = nobody\ncwd = %s\n' \
		"$name" "$*" "$profile" "$wd"
	printf 'restart = never\nstart_secs = 100ms\n'
}

canary() {
	service canary default "$T/wd-canary" /usr/bin/sleep 600
	printf 'env = CANARY_TOKEN=sibling-secret-token\n\n'
}

probe_env() {	# the targets, as env lines (the service environment is clean)
	cat <<EOF
env = PROBE_HOME=$T/home
env = PROBE_SECRET_DIR=$T/secret
env = PROBE_OUTSIDE_DIR=$T/outside
env = PROBE_RO_DIR=$T/ro
env = PROBE_SIBLING_DIR=$T/wd-canary
env = PROBE_CONFIG=$INI
env = PROBE_CONTROL_DIR=$T/run
env = PROBE_CONTROL_SOCKET=$SOCK
env = PROBE_LOG_DIR=$LOGDIR
env = PROBE_DBUS_SOCKET=$T/dbus/bus.sock
env = PROBE_ABSTRACT_NAME=$ABSTRACT
env = PROBE_HOST_PORT=$HOST_PORT
env = PROBE_UDP_PORT=$UDP_PORT
env = PROBE_SUPERVISOR_PID=$DAEMON_PID
env = PROBE_SIBLING_PID=$CANARY_PID
env = PROBE_SUID_BIN=$T/bin/nono-probe-suid
env = PROBE_SHM_ID=$SHM_ID
env = PROBE_KILL_ALL=1
read = $T/bin
read = $T/ro
EOF
}

probe_services() {
	local p
	for p in "${PROFILES[@]}"; do
		service "p-$p" "$p" "$T/wd-$p" "$T/bin/nono-probe"
		probe_env
		# a profile that allowlists hosts has a proxy session: "GET /" matches no route
		[ "$p" = default ] || echo "env = PROBE_PROXY_STATUS=404"
		echo
	done
}

tool_services() {
	service tools-sh default "$T/wd-tools-sh" /bin/bash "$T/bin/tools.sh"
	probe_env
	echo
	service tools-node node-agent "$T/wd-tools-node" /usr/bin/node "$T/bin/tools.js"
	probe_env
	echo
	service agent node-agent "$T/wd-agent" /usr/bin/node agent.js
	echo
}

# Phase 1: the canary alone, so its pid can be handed to the probes.
CANARY_PID=
canary | write_ini
"$SUPERVISE" -n "$INI" >"$T/check.out" 2>&1 || fail "configuration refused: $(cat "$T/check.out")"
start_daemon
wait_running 10 canary
CANARY_PID=$PID
echo "# supervisor pid $DAEMON_PID, canary pid $CANARY_PID, host tcp $HOST_PORT udp $UDP_PORT"

# Phase 2: the probe services (reload adds them; the canary is unchanged and keeps running).
{ canary; probe_services; } | write_ini
"$SUPERVISE" -n "$INI" >"$T/check.out" 2>&1 || fail "configuration refused: $(cat "$T/check.out")"
run ctl reload
[ "$RC" = 0 ] || fail "nonoctl reload: $OUT"

finished() {	# NAME: ran and ended (EXITED or FAILED)
	local s
	s=$(svc_state "$1")
	[ "$s" = EXITED ] || [ "$s" = FAILED ]
}

all_finished() {	# NAME...
	local n
	for n in "$@"; do
		finished "$n" || return 1
	done
}

wait_finished() {	# NAME...: all of them, within one deadline
	local n
	wait_for 150 all_finished "$@" && return
	for n in "$@"; do
		finished "$n" || nok "$n: still $(svc_state "$n") after 150s"
	done
}

# compare NAME TABLE: every "PROBE x r" line of NAME's log against expected/TABLE.txt
compare() {
	local name=$1 table=$EXPECTED/$2.txt prefix=$3 probe want got alt matched alts
	local -A results=()
	local tag key val
	while read -r tag key val _; do
		[ "$tag" = PROBE ] && [ "$key" != "done" ] || continue
		results[$key]=$val
	done < <(log_text "$name" out)
	if [ "${#results[@]}" -eq 0 ]; then
		echo "# $name: $(ctl status --json "$name" 2>&1 | tr -d '\n' | cut -c1-400)"
		nok "$prefix: no probe results (state $(svc_state "$name"), last_exit $(svc_field "$name" last_exit)); log: $(tail -n 3 "$(log_of "$name")" 2>/dev/null | tr '\n' ' ')"
		return
	fi
	while read -r probe want _; do
		case $probe in '' | '#'*) continue ;; esac
		got=${results[$probe]-}
		unset "results[$probe]"
		if [ -z "$got" ]; then
			nok "$prefix/$probe: expected $want, got no result"
			continue
		fi
		matched=
		IFS='|' read -ra alts <<<"$want"
		for alt in "${alts[@]}"; do
			# shellcheck disable=SC2053 # the table holds globs
			[[ $got == $alt ]] && matched=1
		done
		if [ -n "$matched" ]; then
			ok "$prefix/$probe"
		else
			nok "$prefix/$probe: expected $want, got $got"
		fi
	done <"$table"
	for probe in "${!results[@]}"; do
		nok "$prefix/$probe: result ${results[$probe]} is not in $(basename "$table")"
	done
}

names=()
for p in "${PROFILES[@]}"; do
	names+=("p-$p")
done
wait_finished "${names[@]}"
for p in "${PROFILES[@]}"; do
	compare "p-$p" "$p" "$p"
done

# Phase 3 guard: the tools reach for 192.0.2.1; only where the probes saw a netns with only lo.
netns_ok=1
for p in "${PROFILES[@]}"; do
	log_text "p-$p" out | grep -qx 'PROBE netif ok' || netns_ok=
done
if [ -n "$netns_ok" ]; then
	{ canary; probe_services; tool_services; } | write_ini
	run ctl reload
	[ "$RC" = 0 ] || fail "nonoctl reload (tools): $OUT"
	wait_finished tools-sh tools-node agent
	compare tools-sh tools-sh tools
	compare tools-node tools-node tools

	# the positive Node.js agent
	agent_out=$(log_text agent out)
	agent_line() {	# WHAT ERE
		local l
		l=$(printf '%s\n' "$agent_out" | grep "^AGENT $1 " | head -n 1)
		if [[ $l =~ ^AGENT\ $1\ $2$ ]]; then
			ok "agent/$1"
		else
			nok "agent/$1: expected /AGENT $1 $2/, got '${l:-nothing}' (log: $(tail -n 3 "$(log_of agent)" | tr '\n' ' '))"
		fi
	}
	agent_line module 'hello-from-tinylib'
	agent_line write 'ok'
	agent_line spawn 'ok'
	agent_line cpus 'ok [1-9][0-9]*'
	agent_line proxy 'HTTP/1\.[01] 404.*'	# node-agent allowlists hosts: a session, no route
	if printf '%s\n' "$agent_out" | grep -qx 'AGENT done' && [ "$(svc_field agent last_exit)" = '{"code": 0}' ]; then
		ok "agent/exit"
	else
		nok "agent/exit: expected 'AGENT done' and exit 0, got last_exit $(svc_field agent last_exit)"
	fi
	if [ "$(cat "$T/wd-agent/agent-out.txt" 2>/dev/null)" = "written by the agent" ]; then
		ok "agent/file_on_disk"
	else
		nok "agent/file_on_disk: $T/wd-agent/agent-out.txt missing or wrong"
	fi
else
	nok "tools: not run: a probe service's network namespace is not lo-only (see */netif)"
fi

# ---- cross-checks outside the sandbox ----

if [ "$(svc_state canary)" = RUNNING ] && [ "$(svc_pid canary)" = "$CANARY_PID" ] && pid_alive "$CANARY_PID"; then
	ok "canary/alive"
else
	nok "canary/alive: the sibling canary was hit: state $(svc_state canary), last_exit $(svc_field canary last_exit)"
fi
if [ -s "$T/host-hits" ]; then
	nok "host/no_hits: the host-netns listeners were reached: $(sort "$T/host-hits" | uniq -c | tr '\n' ' ')"
else
	ok "host/no_hits"
fi
for f in "$T/outside/created" "$T/outside/victim1" "$T/outside/subdir" /etc/nono-probe-x /usr/bin/nono-probe-x; do
	[ -e "$f" ] && nok "fs/no_traces: $f exists"
done
if [ "$(cat "$T/ro/file")" = "read-only grant" ] && [ "$(cat "$T/outside/swap")" = outside ] &&
	[ "$(stat -c %a "$T/secret/secret")" = 644 ]; then
	ok "fs/targets_unchanged"
else
	nok "fs/targets_unchanged: a file outside the grants changed"
fi

run ctl shutdown
finish
