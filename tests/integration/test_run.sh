#!/usr/bin/env bash
# test_run.sh: `nono-supervise run` end to end: each command of nono's Node.js guide
# (/work/shared/seed/nono-node-guide.txt) with a real `node my_agent.js`
# (tests/fixtures/run/my_agent.js), then the terminal, signals, exit codes and errors.
#
# The tests run as root, so every command runs with --user nobody. The agent's HOME must hold
# a fake ~/.ssh/id_rsa and ~/.aws/credentials, and nobody's home is /nonexistent: each
# nono-supervise runs in a private mount namespace where a copy of /etc/passwd gives nobody
# the home $W/home (the host's file is untouched). $W is under RUN_BASE (default /srv), not
# /tmp: every profile grants /tmp, and a deny (~/.ssh) inside a grant is refused by design.
# Needs root, node, curl, openssl, python3, unshare, setpriv, `npm ci --prefix tests/node`
# and `npm ci --prefix contrib/node`, gnome-keyring, secret-tool, dbus-run-session.
. "$(dirname "$0")/lib.sh"

FIX=$ROOT/tests/fixtures/run
NODE_DIR=$ROOT/tests/node
PRELOAD_DIR=$ROOT/contrib/node
PRELOAD=$PRELOAD_DIR/nono-proxy-preload.mjs
NODE=$(command -v node)
RUN_BASE=${RUN_BASE:-/srv}
TEXT='Hello from the fake upstream'
MODELS='{"object":"list","data":[{"id":"fake-model","object":"model","owned_by":"fake"}]}'
HINT="If a file was refused (EACCES, EPERM), grant it with --read PATH or --allow PATH (--allow-cwd for this directory); a host, with --allow-domain HOST. --dry-run shows the policy."
# The hint when kernel audit is off: Landlock's refusals cannot be named.
HINT_TAIL="$HINT (Refusals are not named: kernel audit is off (it is the only place Landlock names them); 'auditctl -e 1' turns it on.)"
USAGE_LAST='  -v, --verbose             say what is set up'

# $W (mode 755) holds nobody's home $H (0700, nobody's) with the fake credentials (0600,
# nobody's: only the sandbox keeps them from the agent) and the project $P (the cwd: my_agent.js,
# ./node_modules/tinylib, input.txt); $W/passwd; the wrapper $W/nono-run. ESCAPE: a file in
# /var/tmp (mode 1777) the agent must not create.
run_setup() {
	local tool
	[ "$(id -u)" = 0 ] || fail "needs root (the commands run as user nobody)"
	[ -n "$NODE" ] || fail "node is missing (contrib/setup.sh installs nodejs)"
	for tool in curl openssl unshare setpriv; do
		command -v "$tool" >/dev/null || fail "$tool is missing"
	done
	# Every test starts with kernel audit off (refusals unnamed); the footer's tests turn it on.
	kernel_audit off
	W=$(mktemp -d "$RUN_BASE/nono-run.XXXXXX") || fail "cannot make a temp dir under $RUN_BASE"
	PKI=$W/pki
	UP_DIR=$W/up
	ESCAPE=/var/tmp/nono-run-escape.${W##*.}
	trap 'cleanup_dir "$T" >&2; cleanup_dir "$W" >&2; rm -rf "$W" "$ESCAPE"' EXIT
	chmod 755 "$W"
	H=$W/home
	P=$H/proj
	mkdir -p "$H/.ssh" "$H/.aws" "$P/node_modules/tinylib"
	printf '%s\n' '-----BEGIN OPENSSH PRIVATE KEY----- fake' >"$H/.ssh/id_rsa"
	printf '[default]\naws_secret_access_key = fake\n' >"$H/.aws/credentials"
	printf '{"name": "tinylib", "version": "1.0.0", "main": "index.js"}\n' >"$P/node_modules/tinylib/package.json"
	printf "'use strict';\nexports.hello = () => 'hello-from-tinylib';\n" >"$P/node_modules/tinylib/index.js"
	printf 'the task\n' >"$P/input.txt"
	cp "$FIX/my_agent.js" "$P/my_agent.js"
	chown -R 65534:65534 "$H"
	chmod 700 "$H" "$P" "$H/.ssh" "$H/.aws"
	chmod 600 "$H/.ssh/id_rsa" "$H/.aws/credentials"
	awk -F: -v OFS=: -v home="$H" '$1 == "nobody" { $6 = home } { print }' /etc/passwd >"$W/passwd"
	grep -q "^nobody:.*:$H:" "$W/passwd" || fail "no user nobody in /etc/passwd"
	# nono-run [FLAGS] -- COMMAND: nono-supervise run in that mount namespace (the same pid:
	# every step execs). NONO_AS=nobody: nono-supervise itself runs as nobody.
	cat >"$W/nono-run" <<-EOF
	#!/bin/sh
	exec unshare -m sh -c 'mount --bind "\$0" /etc/passwd &&
		if [ "\${NONO_AS:-}" = nobody ]; then exec setpriv --reuid=65534 --regid=65534 --clear-groups "\$@"; fi &&
		if [ "\${NONO_AS:-}" = nobody-no-netns ]; then
			exec setpriv --reuid=65534 --regid=65534 --clear-groups "$HELPER" deny-unshare "\$@"; fi &&
		exec "\$@"' "$W/passwd" "$SUPERVISE" run "\$@"
	EOF
	chmod 755 "$W/nono-run"
}

# nono FLAGS -- COMMAND: `nono-supervise run` in the project dir.
nono() {
	(cd "$P" && exec "$W/nono-run" "$@")
}

# A real key in $W/keys/openai (root's, 0600, as the loader wants it as root).
key_setup() {
	REAL=sk-real-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	mkdir -p "$W/keys"
	chmod 700 "$W/keys"
	printf '%s\n' "$REAL" >"$W/keys/openai"
	chmod 600 "$W/keys/openai"
}

# What `node my_agent.js fs` prints when the sandbox holds.
fs_expected() {
	cat <<-EOF
	home $H
	require tinylib ok hello-from-tinylib
	read input.txt ok the task
	write output.txt ok
	mkdir build/out ok
	read ~/.ssh/id_rsa EACCES
	read ~/.aws/credentials EACCES
	list ~ EACCES
	write ../escape.txt EACCES
	write $ESCAPE EACCES
	EOF
}

assert_fs_outcome() {
	assert_eq "$(fs_expected)" "$OUT" "what the agent could do"
	assert_eq "written by the agent" "$(cat "$P/output.txt")" "output.txt"
	assert_eq "65534" "$(stat -c %u "$P/output.txt")" "owner of output.txt"
	[ -d "$P/build/out" ] || fail "build/out was not made"
	[ ! -e "$H/escape.txt" ] || fail "the agent wrote ../escape.txt"
	[ ! -e "$ESCAPE" ] || fail "the agent wrote $ESCAPE"
}

# ---- 1. nono run --allow-cwd -- node my_agent.js ----

test_allow_cwd_reads_and_writes_only_its_dir() {
	run_setup
	run_split nono --user nobody --allow-cwd -- node my_agent.js fs "$ESCAPE"
	assert_rc 0 "run --allow-cwd -- node my_agent.js fs; stderr: $ERR"
	assert_fs_outcome
	assert_eq "" "$ERR" "stderr of a successful run"
}

test_agent_exit_code_propagated() {
	run_setup
	run_split nono --user nobody --allow-cwd -- node my_agent.js exit 7
	assert_rc 7 "node my_agent.js exit 7"
	assert_eq "exiting with 7" "$OUT" "stdout"
	assert_eq "nono-supervise: 'node' exited with 7. $HINT_TAIL" "$ERR" "the hint on a non-zero exit"
	run_split nono --user nobody --allow-cwd -- node -e 'throw new Error("boom")'
	assert_rc 1 "an uncaught exception"
	assert_eq "nono-supervise: 'node' exited with 1. $HINT_TAIL" "$(printf '%s\n' "$ERR" | tail -n 1)" "last line"
	# With audit on, nothing refused is said as such: the failure is the command's own.
	kernel_audit on
	run_split nono --user nobody --allow-cwd -- node my_agent.js exit 7
	assert_rc 7 "node my_agent.js exit 7, audit on"
	assert_eq "nono-supervise: 'node' exited with 7; the sandbox refused it nothing" "$ERR" "the last line, audit on"
}

# The command's own death by a signal is 128+N; stdin that is not a terminal still reaches it.
test_signal_exit_and_piped_stdin() {
	run_setup
	run_split nono --user nobody --allow-cwd -- sh -c 'kill -KILL $$'
	assert_rc 137 "a command killed by SIGKILL"
	assert_eq "" "$ERR" "stderr (no hint past 125)"
	RC=0
	OUT=$(printf 'line 1\nline 2\n' | nono --user nobody --allow-cwd -- node -e \
		'process.stdin.pipe(process.stdout); process.stdin.on("end", () => console.log("isTTY", process.stdin.isTTY))' 2>&1) || RC=$?
	assert_rc 0 "node reading a pipe"
	assert_eq "line 1
line 2
isTTY undefined" "$OUT" "what node read from the pipe"
}

# The usual case, not root: nono-supervise as nobody (no --user); the same outcomes.
test_unprivileged_caller() {
	run_setup
	NONO_AS=nobody run_split nono --allow-cwd -- node my_agent.js fs "$ESCAPE"
	assert_rc 0 "as nobody: run --allow-cwd -- node my_agent.js fs; stderr: $ERR"
	assert_fs_outcome
	assert_eq "" "$ERR" "stderr"
	NONO_AS=nobody run_split nono --allow-cwd --network-profile minimal --read "$PRELOAD_DIR" \
		--env "NODE_OPTIONS=--import $PRELOAD" -- node my_agent.js net https://exfil.example.com/upload
	assert_rc 0 "as nobody: node my_agent.js net; stderr: $ERR"
	assert_eq "fetch https://exfil.example.com/upload TypeError: fetch failed (Proxy response (403) !== 200 when HTTP Tunneling)
connect 192.0.2.1:443 EACCES
connect 192.0.2.1:8383 ENETUNREACH" "$OUT" "fetch through the proxy, then direct connections"
	assert_line "allow it with --allow-domain exfil\.example\.com\$" "$ERR" "the footer"
	# Not root: audit records cannot be read, and the hint says so whatever audit's state.
	NONO_AS=nobody run_split nono --allow-cwd -- node my_agent.js exit 3
	assert_rc 3 "as nobody: node my_agent.js exit 3"
	assert_eq "nono-supervise: 'node' exited with 3. $HINT (Refusals are not named: reading the kernel's audit records needs root (CAP_AUDIT_READ): Operation not permitted.)" \
		"$ERR" "the hint as nobody"
}

# ---- 2. --network-profile minimal: an unknown host, a direct connection ----

test_minimal_refuses_unknown_host_fetch() {
	run_setup
	run_split nono --user nobody --allow-cwd --network-profile minimal --read "$PRELOAD_DIR" \
		--env "NODE_OPTIONS=--import $PRELOAD" -- node my_agent.js net https://exfil.example.com/upload
	assert_rc 0 "node my_agent.js net; stderr: $ERR"
	assert_eq "fetch https://exfil.example.com/upload TypeError: fetch failed (Proxy response (403) !== 200 when HTTP Tunneling)
connect 192.0.2.1:443 EACCES
connect 192.0.2.1:8383 ENETUNREACH" "$OUT" "fetch through the proxy, then direct connections"
	assert_eq "nono-supervise: the sandbox refused 1 network request:
  CONNECT exfil.example.com: 'exfil.example.com' port 443: 'exfil.example.com' is not in the allowlist; allow it with --allow-domain exfil.example.com" \
		"$ERR" "the footer"
}

test_minimal_refuses_unknown_host_curl() {
	run_setup
	# shellcheck disable=SC2016
	run_split nono --user nobody --allow-cwd --network-profile minimal -- \
		sh -c 'curl -sS -p -x "$HTTPS_PROXY" -o /dev/null -w "%{http_connect}" https://exfil.example.com/'
	assert_rc 56 "curl -p -x \$HTTPS_PROXY https://exfil.example.com/"
	assert_eq 403 "$OUT" "the proxy's answer to CONNECT"
	assert_eq "curl: (56) CONNECT tunnel failed, response 403
nono-supervise: the sandbox refused 1 network request:
  CONNECT exfil.example.com: 'exfil.example.com' port 443: 'exfil.example.com' is not in the allowlist; allow it with --allow-domain exfil.example.com
nono-supervise: 'sh' exited with 56. $HINT_TAIL" "$ERR" "stderr: curl's error, the footer, the hint"
}

# ---- 3. --allow-domain 127.0.0.1:PORT: a local TLS host through CONNECT ----

test_allow_domain_local_tls_host() {
	run_setup
	make_pki nono-run-test-ca
	fake_upstream registry 50
	run_split nono --user nobody --allow-cwd --network-profile minimal --allow-domain "127.0.0.1:$UP_PORT" \
		--read "$PRELOAD_DIR" --read "$PKI" --env "NODE_OPTIONS=--import $PRELOAD" \
		--env "NODE_EXTRA_CA_CERTS=$PKI/ca.pem" -- node my_agent.js net "https://127.0.0.1:$UP_PORT/v1/models"
	assert_rc 0 "node fetch through CONNECT; stderr: $ERR"
	assert_eq "fetch https://127.0.0.1:$UP_PORT/v1/models 200 $MODELS
connect 192.0.2.1:443 EACCES
connect 192.0.2.1:8383 ENETUNREACH" "$OUT" "node fetch"
	assert_eq "" "$ERR" "stderr"
	run_split nono --user nobody --allow-cwd --network-profile minimal --allow-domain "127.0.0.1:$UP_PORT" \
		--read "$PKI" -- curl -sS --noproxy '' --cacert "$PKI/ca.pem" -w ' %{http_connect}' \
		"https://127.0.0.1:$UP_PORT/v1/models"
	assert_rc 0 "curl through CONNECT; stderr: $ERR"
	assert_eq "$MODELS 200" "$OUT" "curl: the body, then the CONNECT status"
	assert_eq '["GET /v1/models", "GET /v1/models"]' "$(up_eval registry '[r["method"] + " " + r["path"] for r in R]')" \
		"requests at the local host"
	assert_eq '[null, null]' "$(up_eval registry '[r["headers"].get("proxy-authorization") for r in R]')" \
		"Proxy-Authorization inside the tunnels"
}

# The footer's flag must allow what was refused: for another port, HOST:PORT.
test_footer_flag_names_the_port() {
	run_setup
	make_pki nono-run-test-ca
	fake_upstream other 50
	run_split nono --user nobody --allow-cwd --read "$PKI" -- \
		curl -sS --noproxy '' --cacert "$PKI/ca.pem" -o /dev/null "https://127.0.0.1:$UP_PORT/v1/models"
	assert_rc 56 "CONNECT to a port not allowlisted"
	assert_line "^  CONNECT 127\\.0\\.0\\.1(:$UP_PORT)?: .*; allow it with --allow-domain 127\\.0\\.0\\.1:$UP_PORT\$" "$ERR" \
		"the footer (--allow-domain 127.0.0.1 alone means port 443)"
	# and following the advice works
	run_split nono --user nobody --allow-cwd --read "$PKI" --allow-domain "127.0.0.1:$UP_PORT" -- \
		curl -sS --noproxy '' --cacert "$PKI/ca.pem" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$UP_PORT/v1/models"
	assert_rc 0 "with --allow-domain 127.0.0.1:$UP_PORT"
	assert_eq 200 "$OUT" "status"
}

# ---- 4. --proxy-credential openai: the openai SDK, phantom token, real key outside ----

sdk_flags() {	# the flags every SDK run needs: tests/node readable, the route to the fake upstream
	SDK_FLAGS=(--user nobody --allow-cwd --read "$NODE_DIR" --env "NODE_PATH=$NODE_DIR/node_modules"
		--proxy-credential openai --credential-upstream "openai=https://127.0.0.1:$UP_PORT/v1"
		--credential-ca "openai=$PKI/ca.pem")
}

# assert_sdk_outcome: the agent's lines, the upstream saw the real key once, and the real key is
# nowhere the agent could see or the run wrote.
assert_sdk_outcome() {
	local phantom
	assert_eq "base URL http://127.0.0.1:8383/openai/v1
OPENAI_API_KEY is 64 hex true
read the key file EACCES
answer $TEXT" "$OUT" "the openai SDK through the proxy"
	assert_eq "[\"Bearer $REAL\"]" "$(up_eval api '[r["headers"].get("authorization") for r in R]')" \
		"Authorization at the upstream"
	assert_eq '["POST /v1/chat/completions"]' "$(up_eval api '[r["method"] + " " + r["path"] for r in R]')" "upstream requests"
	phantom=$(json_get "$(cat "$P/env.json")" 'd["OPENAI_API_KEY"]')
	assert_match '^[0-9a-f]{64}$' "$phantom" "OPENAI_API_KEY"
	assert_eq "$phantom" "$(json_get "$(cat "$P/env.json")" 'd["NONO_PROXY_TOKEN"]')" "NONO_PROXY_TOKEN"
	assert_eq "http://127.0.0.1:8383/openai/v1" "$(json_get "$(cat "$P/env.json")" 'd["OPENAI_BASE_URL"]')" "OPENAI_BASE_URL"
	assert_eq "OPENAI_API_KEY=$phantom" "$(tr '\0' '\n' <"$P/environ.bin" | grep '^OPENAI_API_KEY=')" \
		"OPENAI_API_KEY in /proc/self/environ"
	! grep -rqF -- "$REAL" "$P" || fail "the real key is in the project dir: $(grep -rlF -- "$REAL" "$P")"
	! grep -qF -- "$REAL" <<<"$OUT$ERR" || fail "the real key is in the output"
	! up_eval api 'R' | grep -qE '[0-9a-f]{64}' || fail "a phantom token reached the upstream"
}

test_openai_sdk_file_credential() {
	run_setup
	make_pki nono-run-test-ca
	key_setup
	fake_upstream api 50
	sdk_flags
	run_split nono "${SDK_FLAGS[@]}" --credential-source "openai=file:$W/keys/openai" -- \
		node my_agent.js sdk "$W/keys/openai"
	assert_rc 0 "the SDK run; stderr: $ERR"
	assert_sdk_outcome
	assert_eq "" "$ERR" "stderr"
}

test_openai_sdk_env_credential() {
	run_setup
	make_pki nono-run-test-ca
	key_setup
	fake_upstream api 50
	sdk_flags
	NONO_RUN_TEST_KEY=$REAL run_split nono "${SDK_FLAGS[@]}" \
		--credential-source openai=env:NONO_RUN_TEST_KEY -- node my_agent.js sdk "$W/keys/openai"
	assert_rc 0 "the SDK run with env:VAR; stderr: $ERR"
	assert_sdk_outcome
	assert_eq null "$(json_get "$(cat "$P/env.json")" 'd.get("NONO_RUN_TEST_KEY")')" "the source variable in the agent's env"
}

# The guide's command as written: the key from the keyring (service=nono username=openai) of a
# real gnome-keyring in a private session bus; a credential with no item fails before the start.
test_openai_sdk_keyring_credential() {
	local tool
	for tool in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
		command -v "$tool" >/dev/null || fail "$tool is missing; hint: apt-get install gnome-keyring libsecret-tools dbus-daemon dbus-bin"
	done
	run_setup
	make_pki nono-run-test-ca
	key_setup
	fake_upstream api 50
	sdk_flags
	mkdir -p "$W/kr/home" "$W/kr/run" "$W/res"
	chmod 700 "$W/kr/home" "$W/kr/run"
	bus_conf "$W/kr/bus.conf" "$W/kr/run"
	printf '%s' "$REAL" >"$W/kr/real"
	# shellcheck disable=SC2016
	(cd "$P" && env -i PATH="$PATH" HOME="$W/kr/home" XDG_RUNTIME_DIR="$W/kr/run" NONO_IT_DIR="$T" \
		W="$W" KEYRING_READY="$LIB_DIR/keyring_ready.sh" timeout -k 2 20 dbus-run-session --config-file="$W/kr/bus.conf" -- bash -c '
set -u
eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets)"
"$KEYRING_READY" || exit 92
secret-tool store --label="nono: openai" service nono username openai <"$W/kr/real" || exit 90
"$W/nono-run" "$@" -- node my_agent.js sdk "$W/keys/openai" >"$W/res/out.found" 2>"$W/res/err.found"
echo $? >"$W/res/rc.found"
"$W/nono-run" --user nobody --allow-cwd --proxy-credential anthropic -- touch ran \
	>"$W/res/out.missing" 2>"$W/res/err.missing"
echo $? >"$W/res/rc.missing"
' bash "${SDK_FLAGS[@]}") >"$W/kr/session.log" 2>&1 ||
		fail "keyring session failed: $(grep -v 'fd limit' "$W/kr/session.log" | tail -n 5)"
	OUT=$(cat "$W/res/out.found") ERR=$(cat "$W/res/err.found") RC=$(cat "$W/res/rc.found")
	assert_rc 0 "the SDK run with the keyring; stderr: $ERR"
	assert_sdk_outcome
	OUT=$(cat "$W/res/out.missing") ERR=$(cat "$W/res/err.missing") RC=$(cat "$W/res/rc.missing")
	assert_rc 125 "--proxy-credential anthropic with no keyring item"
	assert_eq "nono-supervise: credential 'anthropic' (keyring:anthropic): keyring item service=nono username=anthropic not found; hint: secret-tool store --label='nono: anthropic' service nono username anthropic target default" \
		"$ERR" "the reason"
	[ ! -e "$P/ran" ] || fail "the command ran without its credential"
}

# Not root (the usual case): the agent is the same user as the key file's owner, so only the
# sandbox keeps the real key away from it. A key file inside a grant (here the cwd) would hand
# it to the agent: refused before the start.
test_credential_file_inside_a_grant_refused() {
	run_setup
	printf 'sk-real-in-the-project\n' >"$P/openai.key"
	chown 65534:65534 "$P/openai.key"
	chmod 600 "$P/openai.key"
	NONO_AS=nobody run_split nono --allow-cwd --proxy-credential openai \
		--credential-source openai=file:openai.key -- cat openai.key
	assert_eq "" "$OUT" "what the command printed (the real key!)"
	assert_rc 125 "a credential file the command could read"
	assert_line "^nono-supervise: credential 'openai'.*$P/openai.key" "$ERR" "the reason names the credential and the file"
}

# ---- 5. --profile node-agent.json: the guide's profile, legacy keys ----

test_guide_profile_file() {
	run_setup
	cat >"$P/node-agent.json" <<-'EOF'
	{
	"meta": { "name": "node-agent", "version": "1.0.0" },
	"workdir": { "access": "readwrite" },
	"security": { "groups": ["node_runtime"] },
	"filesystem": {
	"read_file": ["/etc/ssl/cert.pem", "/etc/resolv.conf"],
	"write": ["/tmp"]
	},
	"policy": {
	"add_deny_access": [
	"$HOME/.ssh", "$HOME/.aws", "$HOME/.gnupg",
	"$HOME/.config/gcloud"
	]
	},
	"network": {
	"allow_hosts": ["api.openai.com", "api.anthropic.com"]
	}
	}
	EOF
	run_split nono --user nobody --profile node-agent.json --allow-cwd --dry-run -- node my_agent.js fs "$ESCAPE"
	assert_rc 0 "--dry-run with the guide's profile; stderr: $ERR"
	assert_line "^profile: $P/node-agent.json\$" "$OUT" "dry run"
	assert_eq "  allowed hosts (2):
    api.openai.com
    api.anthropic.com" "$(printf '%s\n' "$OUT" | grep -A2 '^  allowed hosts')" "network.allow_hosts"
	assert_line "^  $H/\\.ssh +group deny_credentials\$" "$OUT" "denied ~/.ssh"
	run_split nono --user nobody --profile node-agent.json --allow-cwd -- node my_agent.js fs "$ESCAPE"
	assert_rc 0 "the guide's profile; stderr: $ERR"
	assert_fs_outcome
	assert_line "^nono-supervise: (warning: )?profile '$P/node-agent.json': 'network.allow_hosts' is a legacy key, use 'network.allow_domain'\$" \
		"$ERR" "the legacy key's warning on stderr"
	assert_line "^nono-supervise: (warning: )?profile '$P/node-agent.json': 'security.groups' is a legacy key, use 'groups.include'\$" \
		"$ERR" "the legacy key's warning on stderr"
}

# ---- 6. the terminal ----

# pty SCRIPT STEP...: bash SCRIPT on a new pseudo-terminal, played by pty_drive.py; OUT = what
# the terminal showed, RC = the script's status.
pty() {
	local script=$1
	shift
	printf '%s\n' "$PTY_SCRIPT" >"$W/$script"
	"$PY" "$FIX/pty_drive.py" "$W/pty.out" "$@" -- env -i PATH="$PATH" TERM=xterm NONO_IT_DIR="$T" \
		bash "$W/$script"
	RC=$?
	OUT=$(cat "$W/pty.out")
}

test_tty_stdin_foreground_and_input() {
	run_setup
	# bash without job control: nono-supervise stays in the shell's process group, so the
	# command's own foreground group and the terminal's return are nono-supervise's doing.
	PTY_SCRIPT=$(cat <<-EOF
	cd "$P"
	"$W/nono-run" --user nobody --allow-cwd --env "SHELL_TTY=\$(tty)" -- sh -c '[ "\$(tty)" = "\$SHELL_TTY" ] && test -t 0 && test -t 1 && test -t 2 && echo "stdio: the shell'"'"'s terminal"
	exec /usr/bin/python3 -c "
	import os, sys
	print(\"foreground\", os.tcgetpgrp(0) == os.getpgrp(), \"own group\", os.getpgrp() != os.getsid(0))
	sys.stdout.write(\"name? \")
	sys.stdout.flush()
	line = sys.stdin.readline()
	print(\"hello\", line.strip(), os.get_terminal_size(0).columns, os.get_terminal_size(0).lines)
	"'
	echo "rc=\$?"
	/usr/bin/python3 -c 'import os; print("shell foreground", os.tcgetpgrp(0) == os.getpgrp())'
	EOF
	)
	pty tty.sh 'expect:name? ' winsize:50:132 'send:world\n' 'expect:shell foreground'
	assert_eq 0 "$RC" "the script's status; terminal: $OUT"
	assert_eq "stdio: the shell's terminal
foreground True own group True
name? world
hello world 132 50
rc=0
shell foreground True" "$OUT" "the terminal"
}

test_ctrl_c_interrupts_the_command() {
	run_setup
	PTY_SCRIPT=$(cat <<-EOF
	cd "$P"
	"$W/nono-run" --user nobody --allow-cwd -- sh -c 'echo working; exec sleep 30'
	echo "rc=\$?"
	/usr/bin/python3 -c 'import os; print("shell foreground", os.tcgetpgrp(0) == os.getpgrp())'
	EOF
	)
	pty ctrlc.sh 'expect:working' 'send:\x03' 'expect:shell foreground'
	assert_eq 0 "$RC" "the script's status; terminal: $OUT"
	assert_eq "working
^Crc=130
shell foreground True" "$OUT" "^C: the command's status 130, then the terminal is the shell's again"
}

# ^Z in an interactive shell: the command stops, and so must nono-supervise (the shell shows
# "Stopped" and its prompt, as for any job); `fg` gives the terminal back to the command, which
# goes on reading it. (A nono-supervise that keeps waiting leaves the terminal to a stopped
# group: the shell never prompts again.)
test_ctrl_z_stops_and_fg_resumes() {
	run_setup
	PTY_EXPECT_TIMEOUT=3 "$PY" "$FIX/pty_drive.py" "$W/pty.out" 'expect:$ ' \
		"send:cd $P && $W/nono-run --user nobody --allow-cwd -- sh -c 'echo ready-\$((6*7)); read x; echo got-\$x'\n" \
		'expect:ready-42' 'send:\x1a' 'expect:Stopped' 'expect:$ ' 'send:fg\n' 'expect:read x' \
		'send:abc\n' 'expect:got-abc' 'expect:$ ' 'send:echo rc=$?; exit\n' -- \
		env -i PATH="$PATH" TERM=dumb PS1='$ ' NONO_IT_DIR="$T" bash --norc --noprofile -i
	RC=$?
	OUT=$(cat "$W/pty.out")
	assert_eq 0 "$RC" "the interactive shell's status; terminal: $OUT"
	assert_line '^rc=0' "$OUT" "the command's status after fg"
}

# INT, HUP, QUIT, WINCH, USR1, USR2 sent to nono-supervise reach the command; TERM ends it: 143.
test_signals_passed_on() {
	local pid s
	run_setup
	(cd "$P" && exec "$W/nono-run" --user nobody --allow-cwd -- /usr/bin/python3 -c '
import signal, time
log = open("signals.log", "a", buffering=1)
for n in ["SIGINT", "SIGHUP", "SIGQUIT", "SIGWINCH", "SIGUSR1", "SIGUSR2"]:
    signal.signal(getattr(signal, n), lambda s, f: log.write(signal.Signals(s).name + "\n"))
log.write("ready\n")
while True:
    time.sleep(1)
' >"$T/out" 2>"$T/err") &
	pid=$!
	track "$pid"
	wait_for 5 grep -qx ready "$P/signals.log" || fail "the command did not start: $(cat "$T/err")"
	for s in INT HUP QUIT WINCH USR1 USR2; do
		kill -s "$s" "$pid"
		wait_for 3 grep -qx "SIG$s" "$P/signals.log" || fail "SIG$s did not reach the command: $(cat "$P/signals.log")"
	done
	kill -TERM "$pid"
	wait_for 5 pid_gone "$pid" || fail "nono-supervise still runs 5 s after SIGTERM"
	wait "$pid"
	RC=$?
	OUT=$(cat "$T/err")
	assert_rc 143 "SIGTERM to nono-supervise"
	assert_eq "ready
SIGINT
SIGHUP
SIGQUIT
SIGWINCH
SIGUSR1
SIGUSR2" "$(cat "$P/signals.log")" "signals the command received"
	assert_eq "" "$(cat "$T/err")" "stderr"
	! pgrep -u 65534 -f 'signals.log' >/dev/null || fail "the command outlived nono-supervise: $(pgrep -a -u 65534 -f signals.log)"
}

# ---- 7. errors ----

test_unknown_flag_prints_usage() {
	run_setup
	run_split nono --user nobody --bogus -- true
	assert_rc 2 "an unknown flag"
	assert_eq "" "$OUT" "stdout"
	assert_eq "nono-supervise run: unknown flag '--bogus'" "$(printf '%s\n' "$ERR" | sed -n 1p)" "first line"
	assert_eq "usage: run [FLAGS] -- COMMAND [ARGS...]" "$(printf '%s\n' "$ERR" | sed -n 2p)" "second line"
	assert_eq "$USAGE_LAST" "$(printf '%s\n' "$ERR" | tail -n 1)" "the usage's last line (all of it)"
}

test_help_prints_whole_usage() {
	run_setup
	run_split nono --help
	assert_rc 0 "--help"
	assert_eq "" "$ERR" "stderr"
	assert_eq "usage: run [FLAGS] -- COMMAND [ARGS...]" "$(printf '%s\n' "$OUT" | sed -n 1p)" "first line"
	assert_eq "$USAGE_LAST" "$(printf '%s\n' "$OUT" | tail -n 1)" "the usage's last line (all of it)"
	for flag in --allow-cwd --network-profile --allow-domain --proxy-credential --credential-source \
		--credential-upstream --credential-ca --env --dry-run --user; do
		assert_line "^ .*$flag " "$OUT" "$flag in the usage"
	done
}

test_missing_command_or_value() {
	run_setup
	run_split nono --user nobody --allow-cwd
	assert_rc 2 "no command"
	assert_eq "nono-supervise run: no command given" "$(printf '%s\n' "$ERR" | sed -n 1p)" "first line"
	run_split nono --user nobody --allow-cwd --
	assert_rc 2 "nothing after --"
	assert_eq "nono-supervise run: no command given" "$(printf '%s\n' "$ERR" | sed -n 1p)" "first line"
	run_split nono --user nobody --read
	assert_rc 2 "--read without a value"
	assert_eq "nono-supervise run: --read needs a value" "$ERR" "stderr"
}

test_root_without_user_refused() {
	run_setup
	run_split nono --allow-cwd -- touch ran
	assert_rc 125 "as root without --user"
	assert_eq "nono-supervise: as root, run needs --user NAME (an unprivileged account): agents never run as root" \
		"$ERR" "stderr"
	[ ! -e "$P/ran" ] || fail "the command ran"
}

test_user_root_refused() {
	run_setup
	run_split nono --user root --allow-cwd -- touch ran
	assert_rc 125 "--user root"
	[ ! -e "$P/ran" ] || fail "the command ran as root"
	assert_line "^nono-supervise: .*uid 0" "$ERR" "the reason"
	assert_no_line "exited with 125" "$ERR" "a hint that the command exited (it never started)"
}

test_command_not_found_127() {
	run_setup
	run_split nono --user nobody --allow-cwd -- nono-no-such-command --x
	assert_rc 127 "a command not in PATH"
	assert_eq "nono-supervise: command 'nono-no-such-command' not found in PATH" "$ERR" "stderr"
	run_split nono --user nobody --allow-cwd -- ./input.txt
	assert_rc 126 "a file that is not executable"
	assert_eq "nono-supervise: cannot execute './input.txt': Permission denied" "$ERR" "stderr"
}

# As a shell, env(1) or timeout(1) would: a path that does not exist is 127, not 126.
test_missing_path_127() {
	run_setup
	run_split nono --user nobody --allow-cwd -- ./no-such-script.sh
	assert_rc 127 "a path that does not exist"
	assert_eq "nono-supervise: './no-such-script.sh' not found" "$ERR" "stderr"
}

test_missing_profile_125() {
	run_setup
	run_split nono --user nobody --profile nono-no-such-profile --allow-cwd -- touch ran
	assert_rc 125 "a profile name that does not exist"
	assert_eq "nono-supervise: profile 'nono-no-such-profile' not found (looked in $H/.config/nono/profiles and $ROOT/profiles)" \
		"$ERR" "stderr"
	run_split nono --user nobody --profile missing.json --allow-cwd -- touch ran
	assert_rc 125 "a profile file that does not exist"
	assert_eq "nono-supervise: profile '$P/missing.json': cannot open '$P/missing.json': No such file or directory" \
		"$ERR" "stderr"
	[ ! -e "$P/ran" ] || fail "the command ran"
}

test_dry_run_prints_policy_runs_nothing() {
	run_setup
	run_split nono --user nobody --allow-cwd --network-profile minimal --dry-run -- touch ran
	assert_rc 0 "--dry-run; stderr: $ERR"
	[ ! -e "$P/ran" ] || fail "--dry-run ran the command"
	assert_eq "" "$ERR" "stderr"
	assert_line '^user: nobody$' "$OUT" "dry run"
	assert_line '^profile: default$' "$OUT" "dry run"
	assert_line "^workdir: $P\$" "$OUT" "dry run"
	assert_line "^  rw  dir  $P +workdir\$" "$OUT" "the cwd granted read-write"
	assert_line "^  $H/\\.ssh +group deny_credentials\$" "$OUT" "denied: .ssh of the home"
	assert_line "^  $H/\\.aws +group deny_credentials\$" "$OUT" "denied: .aws of the home"
	assert_line '^  allowed hosts \(16\):$' "$OUT" "network profile minimal"
	assert_line '^    api\.openai\.com$' "$OUT" "network profile minimal"
	run_split nono --user nobody --dry-run -- touch ran
	assert_rc 0 "--dry-run without --allow-cwd"
	assert_no_line "$P" "$(printf '%s\n' "$OUT" | grep -v '^workdir: ')" "the cwd without --allow-cwd"
	[ ! -e "$P/ran" ] || fail "--dry-run ran the command"
}

# --dry-run shows the credentials the command would get.
test_dry_run_lists_proxy_credential() {
	run_setup
	key_setup
	run_split nono --user nobody --allow-cwd --proxy-credential openai \
		--credential-source "openai=file:$W/keys/openai" --dry-run -- true
	assert_rc 0 "--dry-run --proxy-credential openai; stderr: $ERR"
	assert_eq "  credentials: openai" "$(printf '%s\n' "$OUT" | grep '^  credentials:')" "the credentials line of the dry run"
}

# --block-net: no proxy variables, and nothing to connect to, not even the proxy.
test_block_net() {
	run_setup
	run_split nono --user nobody --allow-cwd --block-net -- node -e '
const net = require("node:net");
console.log("HTTPS_PROXY", process.env.HTTPS_PROXY ?? "unset", "OPENAI_BASE_URL", process.env.OPENAI_BASE_URL ?? "unset");
const s = net.connect({ host: "127.0.0.1", port: 8383 });
s.on("connect", () => { console.log("proxy connected"); s.destroy(); });
s.on("error", (e) => console.log("proxy", e.code));'
	assert_rc 0 "--block-net; stderr: $ERR"
	assert_eq "HTTPS_PROXY unset OPENAI_BASE_URL unset
proxy EACCES" "$OUT" "the network of --block-net"
}

# A profile's network.credentials are the command's too (codex asks for openai): with the
# key they work as --proxy-credential would; without it the command runs without them, told.
test_profile_credentials() {
	run_setup
	make_pki nono-run-test-ca
	key_setup
	fake_upstream api 50
	run_split nono --user nobody --allow-cwd -p codex -- sh -c 'echo "${OPENAI_API_KEY:-none}"'
	assert_rc 0 "codex without an openai key; stderr: $ERR"
	assert_eq none "$OUT" "no phantom without the key"
	assert_match "^nono-supervise: credential 'openai' \(keyring:openai, asked for by the profile\) left out: " \
		"$ERR" "said why"
	run_split nono --user nobody --allow-cwd -p codex --read "$NODE_DIR" \
		--env "NODE_PATH=$NODE_DIR/node_modules" --credential-source "openai=file:$W/keys/openai" \
		--credential-upstream "openai=https://127.0.0.1:$UP_PORT/v1" --credential-ca "openai=$PKI/ca.pem" \
		-- node my_agent.js sdk "$W/keys/openai"
	assert_rc 0 "codex with the key; stderr: $ERR"
	assert_sdk_outcome
}

# No network namespace at all (an unprivileged caller, unshare denied): run opens one shared
# listener on 127.0.0.1:8383 itself, and the SDK still gets through with the phantom only.
test_no_netns_shared_listener() {
	run_setup
	make_pki nono-run-test-ca
	key_setup
	chown -R 65534:65534 "$W/keys"
	fake_upstream api 50
	sdk_flags
	NONO_AS=nobody-no-netns run_split nono "${SDK_FLAGS[@]}" \
		--credential-source "openai=file:$W/keys/openai" -- node my_agent.js sdk "$W/keys/openai"
	assert_rc 0 "the SDK run without a netns; stderr: $ERR"
	assert_sdk_outcome
}

# ---- the footer: what Landlock refused, as the kernel's audit reported it ----

# The guide's promise, said back: each refusal of `node my_agent.js fs` by name, with the
# flag that would allow it, or why nothing will (a deny group).
test_footer_names_refused_files() {
	run_setup
	kernel_audit on
	run_split nono --user nobody --allow-cwd -- node my_agent.js fs "$ESCAPE"
	assert_rc 0 "run --allow-cwd -- node my_agent.js fs; stderr: $ERR"
	assert_fs_outcome
	assert_eq "nono-supervise: Landlock refused 5 accesses (as the kernel reported them):
  read $H/.ssh/id_rsa: protected by group deny_credentials, not granted on purpose
  read $H/.aws/credentials: protected by group deny_credentials, not granted on purpose
  list $H: allow with --read $H
  create a file in $H: allow with --write $H
  create a file in /var/tmp: allow with --write /var/tmp" "$ERR" "the footer"
}

# The same with the network: the direct connection Landlock refused (a port other than the
# proxy's) is named beside the request the proxy refused.
test_footer_names_refused_connections() {
	run_setup
	kernel_audit on
	run_split nono --user nobody --allow-cwd --network-profile minimal --read "$PRELOAD_DIR" \
		--env "NODE_OPTIONS=--import $PRELOAD" -- node my_agent.js net https://exfil.example.com/upload
	assert_rc 0 "node my_agent.js net; stderr: $ERR"
	assert_eq "fetch https://exfil.example.com/upload TypeError: fetch failed (Proxy response (403) !== 200 when HTTP Tunneling)
connect 192.0.2.1:443 EACCES
connect 192.0.2.1:8383 ENETUNREACH" "$OUT" "fetch through the proxy, then direct connections"
	assert_eq "nono-supervise: Landlock refused 1 access (as the kernel reported them):
  connect to 192.0.2.1:443: only the proxy is reachable; name a host with --allow-domain
nono-supervise: the sandbox refused 1 network request:
  CONNECT exfil.example.com: 'exfil.example.com' port 443: 'exfil.example.com' is not in the allowlist; allow it with --allow-domain exfil.example.com" \
		"$ERR" "the footer"
}

run_tests "$@"
