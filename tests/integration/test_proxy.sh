#!/usr/bin/env bash
# test_proxy.sh: the credential proxy end to end: a sandboxed service holding only a phantom
# token calls its route through the proxy; a local upstream must see the real key.
. "$(dirname "$0")/lib.sh"

proxy_ini() {	# COMMAND
	chmod 755 "$T"
	mkdir -p "$T/wd" && chown 65534:65534 "$T/wd"
	printf 'sk-real-%s\n' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/key"
	chmod 600 "$T/key"
	{
		printf '[credential:openai]\nsource = file:%s\nupstream = http://127.0.0.1:%s/v1\n' \
			"$T/key" "$(cat "$T/upstream.port")"
		printf '[service:agent]\ncommand = %s\nuser = nobody\ncwd = wd\nprofile = default\n' "$1"
		printf 'credentials = openai\nwrite = wd\nrestart = never\nstart_secs = 0\n'
	} | write_ini
}

test_phantom_swapped_for_the_real_key() {
	plain_upstream
	proxy_ini "sh agent.sh"
	cat >"$T/wd/agent.sh" <<-'SH'
	env > env.txt
	curl -s -H "Authorization: Bearer $OPENAI_API_KEY" -H "Content-Type: application/json" \
		-d '{"model":"x"}' "$OPENAI_BASE_URL/chat/completions"
	echo
	curl -s -o /dev/null -w "wrong=%{http_code}" -H "Authorization: Bearer 0000" -d '{}' \
		"$OPENAI_BASE_URL/chat/completions"
	echo
	SH
	start_daemon
	wait_state 10 agent EXITED
	local real phantom
	real=$(tr -d '\n' <"$T/key")
	wait_log 3 agent 'out wrong='
	assert_eq '{"id":"chatcmpl-1","choices":[{"message":{"content":"hi"}}]}' \
		"$(log_text agent out | head -1)" "the upstream's answer reached the service"
	assert_eq 'wrong=401' "$(log_text agent out | tail -1)" "a wrong token"
	assert_eq 1 "$(wc -l <"$T/upstream.log")" "requests the upstream saw (the 401 is never forwarded)"
	assert_eq "Bearer $real" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["auth"])' "$T/upstream.log")" \
		"the upstream got the real key"
	assert_eq "/v1/chat/completions" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["path"])' "$T/upstream.log")" "upstream path"
	phantom=$(sed -n 's/^OPENAI_API_KEY=//p' "$T/wd/env.txt")
	assert_match '^[0-9a-f]{64}$' "$phantom" "the child's OPENAI_API_KEY is a phantom token"
	assert_eq "http://127.0.0.1:8383/openai/v1" "$(sed -n 's/^OPENAI_BASE_URL=//p' "$T/wd/env.txt")" "base URL"
	! grep -rq -- "$real" "$T/wd" "$LOGDIR" || fail "the real key is in the service's files or logs"
	! grep -q -- "$real" <<<"$(ctl status --json)" || fail "the real key is in status"
	# Both requests are audited (written by a worker shortly after), chained, without secrets.
	wait_for 3 grep -q '"status":401' "$LOGDIR/audit.ndjson" || fail "no audit records"
	run ctl audit verify
	assert_eq "$LOGDIR/audit.ndjson: 2 records, hash chain intact" "$OUT" "audit verify"
	run ctl logs --audit agent
	assert_eq 2 "$(grep -c '"service":"agent"' <<<"$OUT")" "the agent's audit records"
	grep -q '"decision":"allow".*"status":200\|"status":200.*"decision":"allow"' <<<"$OUT" ||
		fail "no allowed 200 record: $OUT"
	! grep -q -- "$real\|$phantom" <<<"$OUT" || fail "a secret in the audit log: $OUT"
}

test_missing_credential_fails_the_start() {
	plain_upstream
	proxy_ini "sleep 1000"
	rm "$T/key"
	start_daemon
	wait_state 10 agent FAILED
	assert_match "^credential 'openai' .*" "$(svc_field agent reason)" "reason names the credential"
}

# A reload reads the keys again: the next session of an unchanged service uses the new one.
test_reload_rereads_the_key() {
	plain_upstream
	proxy_ini "sh agent.sh"
	cat >"$T/wd/agent.sh" <<-'SH'
	curl -s -o /dev/null -w "status=%{http_code}\n" -H "Authorization: Bearer $OPENAI_API_KEY" \
		-d '{}' "$OPENAI_BASE_URL/chat/completions"
	SH
	start_daemon
	wait_state 10 agent EXITED
	local old new
	old=$(tr -d '\n' <"$T/key")
	new="sk-rotated-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	printf '%s\n' "$new" >"$T/key"
	run ctl reload
	assert_rc 0 "reload"
	assert_line '^unchanged: agent$|unchanged.*agent' "$OUT" "the service is unchanged"
	run ctl start agent
	wait_for 10 sh -c '[ "$(wc -l <"$1")" -ge 2 ]' sh "$T/upstream.log" ||
		fail "no second request upstream"
	assert_eq "Bearer $old" "$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[0])["auth"])' "$T/upstream.log")" "first session: the old key"
	assert_eq "Bearer $new" "$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[1])["auth"])' "$T/upstream.log")" "after reload: the new key"
}

# No network namespaces (an unprivileged supervisor, unshare denied): one shared listener on
# the host's 127.0.0.1:8383 serves every session, told apart by their tokens; a token is needed.
test_port_only_shared_listener() {
	[ "$(id -u)" = 0 ] || skip "needs root to start the supervisor as nobody"
	plain_upstream
	mkdir -p "$T/run" && chown 65534:65534 "$T/run"
	SOCK=$T/run/ctl.sock LOGDIR=$T/run/logs
	proxy_ini "sh agent.sh"
	chown 65534:65534 "$T/key"
	sed -i 's/^user = nobody$//' "$INI"	# the supervisor is nobody itself
	cat >"$T/wd/agent.sh" <<-'SH'
	env > env.txt
	curl -s -H "Authorization: Bearer $OPENAI_API_KEY" -d '{"model":"x"}' \
		"$OPENAI_BASE_URL/chat/completions"
	echo
	curl -s -o /dev/null -w "wrong=%{http_code}\n" -H "Authorization: Bearer 0000" -d '{}' \
		"$OPENAI_BASE_URL/chat/completions"
	curl -s -o /dev/null -w "connect=%{http_connect}\n" -p -x "$HTTPS_PROXY" http://example.com/
	curl -s -o /dev/null -w "noauth=%{http_connect}\n" -p -x http://127.0.0.1:8383 http://example.com/
	sleep 2
	SH
	chown -R 65534:65534 "$T/wd"
	(cd "$T/run" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$HELPER" deny-unshare "$SUPERVISE" -f "$INI" >"$T/daemon.out" 2>"$T/daemon.err") &
	DAEMON_PID=$!
	track "$DAEMON_PID"
	echo "$DAEMON_PID" >"$T/.daemon"
	wait_for 5 daemon_ready || fail "no daemon: $(cat "$T/daemon.err")"
	grep -q "one proxy listener on 127.0.0.1:8383 for every service" "$T/daemon.err" ||
		fail "no shared listener: $(cat "$T/daemon.err")"
	wait_log 10 agent 'out noauth='
	assert_eq "port-only (weaker)" "$(svc_field agent network)" "network"
	assert_eq '{"id":"chatcmpl-1","choices":[{"message":{"content":"hi"}}]}' \
		"$(log_text agent out | head -1)" "the upstream's answer reached the service"
	assert_eq 'wrong=401' "$(log_text agent out | sed -n 2p)" "a wrong token"
	assert_eq 'connect=403' "$(log_text agent out | sed -n 3p)" "CONNECT with the token, no host allowlisted"
	assert_eq 'noauth=407' "$(log_text agent out | sed -n 4p)" "CONNECT without the token"
	assert_eq "Bearer $(tr -d '\n' <"$T/key")" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["auth"])' "$T/upstream.log")" \
		"the upstream got the real key"
	local phantom code
	phantom=$(sed -n 's/^OPENAI_API_KEY=//p' "$T/wd/env.txt")
	# Any local process reaches this listener: without a live session's token it gets nothing.
	code=$(curl -s -o /dev/null -w '%{http_code}' -d '{}' http://127.0.0.1:8383/openai/v1/chat/completions)
	assert_eq 401 "$code" "no token from the host"
	wait_state 10 agent EXITED
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $phantom" -d '{}' \
		http://127.0.0.1:8383/openai/v1/chat/completions)
	assert_eq 401 "$code" "the token of a session that ended"
	assert_eq 1 "$(wc -l <"$T/upstream.log")" "requests the upstream saw"
}

# The [supervisor] proxy_* limits apply, each named in the reply and in the audit record.
test_named_limits() {
	plain_upstream
	proxy_ini "bash agent.sh"
	printf '[supervisor]\nproxy_max_body = 1K\nproxy_max_connections_per_service = 2\n' >>"$INI"
	cat >"$T/wd/agent.sh" <<-'SH'
	head -c 2048 /dev/zero | tr '\0' x >big.txt
	curl -s -H "Authorization: Bearer $OPENAI_API_KEY" --data-binary @big.txt \
		"$OPENAI_BASE_URL/chat/completions"
	echo
	exec 3<>/dev/tcp/127.0.0.1/8383 4<>/dev/tcp/127.0.0.1/8383
	sleep 0.3
	curl -s -D - -o body.txt "$OPENAI_BASE_URL/models" | grep -i '^retry-after' | tr -d '\r'
	cat body.txt
	echo
	SH
	start_daemon
	wait_state 10 agent EXITED
	assert_eq '{"error":{"type":"request_too_large","message":"proxy limit max_body (1024 bytes) exceeded"}}' \
		"$(log_text agent out | sed -n 1p)" "body over the limit"
	assert_eq 'Retry-After: 1' "$(log_text agent out | sed -n 2p)" "a hint to retry"
	assert_eq '{"error":{"type":"proxy_unavailable","message":"proxy limit max_connections_per_service (2) reached"}}' \
		"$(log_text agent out | sed -n 3p)" "a third connection"
	assert_eq 0 "$(wc -l <"$T/upstream.log" 2>/dev/null || echo 0)" "requests the upstream saw"
	wait_for 3 grep -q 'max_connections_per_service' "$LOGDIR/audit.ndjson" || fail "no audit record"
	run ctl logs --audit agent
	assert_line '"status":413.*"decision":"deny","reason":"proxy limit max_body \(1024 bytes\) exceeded"' "$OUT" "audit: body"
	assert_line '"status":503.*"decision":"deny","reason":"proxy limit max_connections_per_service \(2\) reached"' "$OUT" "audit: connections"
}

# A key file the sandbox could read would hand the agent the key the proxy hides: refused.
test_key_file_inside_a_grant_refused() {
	plain_upstream
	proxy_ini "sleep 100"
	mv "$T/key" "$T/wd/key"
	sed -i "s|^source = file:.*|source = file:$T/wd/key|" "$INI"
	run "$SUPERVISE" -n "$INI"
	assert_rc 1 "the check"
	assert_match "^$INI:[0-9]+: service 'agent': credential 'openai': its key file '$T/wd/key' is readable in the sandbox \(grant $T/wd from .*\); keep key files outside what the sandbox may read$" \
		"$OUT" "the reason"
}

# A profile's network.credentials are the service's too, from their [credential:NAME] section.
test_profile_credentials_join_the_service() {
	plain_upstream
	proxy_ini "sh agent.sh"
	sed -i 's/^credentials = openai$//; s/^profile = default$/profile = codex/' "$INI"
	cat >"$T/wd/agent.sh" <<-'SH'
	curl -s -o /dev/null -w "status=%{http_code}\n" -H "Authorization: Bearer $OPENAI_API_KEY" \
		-d '{}' "$OPENAI_BASE_URL/chat/completions"
	SH
	start_daemon
	wait_state 10 agent EXITED
	wait_log 3 agent 'out status='
	assert_eq status=200 "$(log_text agent out)" "the profile's credential through the proxy"
	assert_eq "Bearer $(tr -d '\n' <"$T/key")" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["auth"])' "$T/upstream.log")" \
		"the upstream got the real key"
}

run_tests "$@"
