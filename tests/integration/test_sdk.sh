#!/usr/bin/env bash
# test_sdk.sh: the credential proxy with real npm clients (openai 6, @anthropic-ai/sdk 1.x and
# 0.x, from tests/node) run as sandboxed Node services (profile node-agent, user nobody) that
# hold only phantom tokens, against a TLS fake upstream (tests/fixtures/fake_upstream.mjs)
# with a throwaway CA given to the routes with `ca =`. Then where phantom tokens are refused,
# and last the proxy's CONNECT / absolute-form side (curl and Node fetch with the contrib
# preload). Needs root, node and `npm ci --prefix tests/node` (contrib/setup.sh runs it).
. "$(dirname "$0")/lib.sh"

NODE_DIR=$ROOT/tests/node
PRELOAD_DIR=$ROOT/contrib/node
NODE=$(command -v node)
DELAY_MS=300	# between the fake upstream's stream events
TEXT='Hello from the fake upstream'
PHANTOM_RE='^[0-9a-f]{64}$'

# The test dir, a throwaway CA and a server certificate for IP 127.0.0.1, the real keys.
# $T is traversable by nobody; the CA dir is readable, the keys and the upstream's files not.
sdk_setup() {
	[ "$(id -u)" = 0 ] || fail "needs root (services run as user nobody)"
	[ -n "$NODE" ] || fail "node is missing (contrib/setup.sh installs nodejs)"
	if [ ! -d "$NODE_DIR/node_modules/openai" ] || [ ! -d "$NODE_DIR/node_modules/anthropic0" ]; then
		fail "tests/node/node_modules is missing: npm ci --prefix tests/node (contrib/setup.sh does)"
	fi
	chmod 755 "$T"
	mkdir -p "$T/keys"
	chmod 700 "$T/keys"
	PKI=$T/pki
	UP_DIR=$T/up
	make_pki nono-sdk-test-ca
	REAL_OPENAI=sk-real-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	REAL_ANTHROPIC=sk-ant-real-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf '%s\n' "$REAL_OPENAI" >"$T/keys/openai"
	printf '%s\n' "$REAL_ANTHROPIC" >"$T/keys/anthropic"
	chmod 600 "$T/keys/openai" "$T/keys/anthropic"
}

# result NAME EXPR: a python expression over d, the service's result.json.
result() {
	[ -s "$T/wd-$1/result.json" ] || fail "service '$1' wrote no result.json; log: $(tail -n 5 "$(log_of "$1")")"
	json_get "$(cat "$T/wd-$1/result.json")" "$2"
}

# The credential sections: both routes to the fake upstream at port $1, verified with the CA.
creds_ini() {
	printf '[credential:openai]\nsource = file:%s\nupstream = https://127.0.0.1:%s/v1\nca = %s\n\n' \
		"$T/keys/openai" "$1" "$T/pki/ca.pem"
	printf '[credential:anthropic]\nsource = file:%s\nupstream = https://127.0.0.1:%s\nca = %s\n\n' \
		"$T/keys/anthropic" "$1" "$T/pki/ca.pem"
}

# service NAME COMMAND...: a sandboxed node-agent service as nobody in its own workdir
# $T/wd-NAME, with tests/node readable and both credentials; add lines after it.
service() {
	local name=$1
	shift
	mkdir -p "$T/wd-$name"
	chown 65534:65534 "$T/wd-$name"
	chmod 700 "$T/wd-$name"
	printf '[service:%s]\ncommand = %s\nuser = nobody\nprofile = node-agent\ncwd = %s\n' \
		"$name" "$*" "$T/wd-$name"
	printf 'read = %s\ncredentials = openai anthropic\nrestart = never\nstart_secs = 0\n' "$NODE_DIR"
}

# assert_streamed NAME: the service's result.json has the fake text in exactly 5 non-empty
# chunks, the first and last at least 2 upstream delays apart (relayed, not buffered).
assert_streamed() {
	local n span
	n=$(result "$1" 'len([c for c in d["chunks"] if c["text"]])')
	span=$(result "$1" '(lambda t: t[-1] - t[0])([c["ms"] for c in d["chunks"] if c["text"]])')
	assert_eq 5 "$n" "'$1': streamed chunks with text"
	assert_eq "$TEXT" "$(result "$1" '"".join(c["text"] for c in d["chunks"])')" "'$1': streamed text"
	[ "$span" -ge $((2 * DELAY_MS)) ] ||
		fail "'$1': first to last chunk ${span} ms, expected >= $((2 * DELAY_MS)) ms (buffered?): $(cat "$T/wd-$1/result.json")"
}

# assert_no_phantom_upstream NAME: no header the upstream received holds a 64-hex token.
assert_no_phantom_upstream() {
	assert_eq 0 "$(up_eval "$1" 'sum(bool(__import__("re").search("[0-9a-f]{64}", v)) for r in R for v in r["headers"].values())')" \
		"header values with a phantom token at upstream '$1'"
}

audit_count() {	# ERE N: the audit log has N records matching ERE
	[ "$(grep -cE -- "$1" "$LOGDIR/audit.ndjson" 2>/dev/null)" = "$2" ]
}

test_openai6_chat_and_stream() {
	sdk_setup
	fake_upstream api "$DELAY_MS"
	{
		creds_ini "$UP_PORT"
		service agent "$NODE" "$NODE_DIR/openai_chat.mjs"
	} | write_ini
	start_daemon
	wait_state 20 agent EXITED
	assert_eq 0 "$(svc_field agent last_exit.code)" "exit code"
	assert_eq "http://127.0.0.1:8383/openai/v1" "$(result agent 'd["baseURL"]')" "the SDK's base URL (from OPENAI_BASE_URL)"
	assert_eq "$TEXT" "$(result agent 'd.get("text", d.get("error"))')" "the SDK's non-streamed answer"
	assert_streamed agent
	assert_eq 2 "$(up_eval api 'len(R)')" "requests at the upstream"
	assert_eq '["POST /v1/chat/completions", "POST /v1/chat/completions"]' \
		"$(up_eval api '[r["method"] + " " + r["path"] for r in R]')" "upstream requests"
	assert_eq '[false, true]' "$(up_eval api '[json.loads(r["body"]).get("stream", False) for r in R]')" "stream flags"
	assert_eq "[\"Bearer $REAL_OPENAI\", \"Bearer $REAL_OPENAI\"]" \
		"$(up_eval api '[r["headers"].get("authorization") for r in R]')" "authorization at the upstream"
	assert_eq '["OpenAI/JS 6.30.1", "OpenAI/JS 6.30.1"]' "$(up_eval api '[r["headers"].get("user-agent") for r in R]')" "client"
	assert_no_phantom_upstream api
}

# anthropic_case MAJOR VERSION API_VERSION: @anthropic-ai/sdk MAJOR.x (VERSION) through the
# anthropic route: x-api-key carries the real key whichever header the SDK sent.
anthropic_case() {
	sdk_setup
	fake_upstream api "$DELAY_MS"
	{
		creds_ini "$UP_PORT"
		service agent "$NODE" "$NODE_DIR/anthropic_messages.mjs" "$1"
	} | write_ini
	start_daemon
	wait_state 20 agent EXITED
	assert_eq 0 "$(svc_field agent last_exit.code)" "exit code"
	assert_eq "http://127.0.0.1:8383/anthropic" "$(result agent 'd["baseURL"]')" "the SDK's base URL (from ANTHROPIC_BASE_URL)"
	assert_eq "$TEXT" "$(result agent 'd.get("text", d.get("error"))')" "the SDK's non-streamed answer"
	assert_streamed agent
	assert_eq '["message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]' \
		"$(result agent 'd["events"]')" "named events the SDK parsed"
	assert_eq '["POST /v1/messages", "POST /v1/messages"]' \
		"$(up_eval api '[r["method"] + " " + r["path"] for r in R]')" "upstream requests"
	assert_eq "[\"Anthropic/JS $2\", \"Anthropic/JS $2\"]" "$(up_eval api '[r["headers"].get("user-agent") for r in R]')" "client"
	assert_eq "[\"$3\", \"$3\"]" "$(up_eval api '[r["headers"].get("anthropic-version") for r in R]')" "anthropic-version"
	assert_eq "[\"$REAL_ANTHROPIC\", \"$REAL_ANTHROPIC\"]" \
		"$(up_eval api '[r["headers"].get("x-api-key") for r in R]')" "x-api-key at the upstream"
	assert_eq '[null, null]' "$(up_eval api '[r["headers"].get("authorization") for r in R]')" \
		"authorization at the upstream"
	assert_no_phantom_upstream api
}

test_anthropic_sdk_0x_x_api_key() {
	anthropic_case 0 0.137.0 2023-06-01
}

test_anthropic_sdk_1x_bearer() {
	anthropic_case 1 1.17.0 2026-10-21
}

test_real_key_invisible_to_the_child() {
	local phantom out key
	sdk_setup
	fake_upstream api "$DELAY_MS"
	{
		creds_ini "$UP_PORT"
		service agent "$NODE" "$NODE_DIR/env_dump.mjs"
	} | write_ini
	start_daemon
	wait_state 20 agent EXITED
	assert_eq "text $TEXT" "$(log_text agent out)" "the agent's request through the proxy"
	assert_eq "[\"Bearer $REAL_OPENAI\"]" "$(up_eval api '[r["headers"].get("authorization") for r in R]')" \
		"the real key was used upstream"
	phantom=$(json_get "$(cat "$T/wd-agent/env.json")" 'd["OPENAI_API_KEY"]')
	assert_match "$PHANTOM_RE" "$phantom" "OPENAI_API_KEY in the child's env"
	assert_eq "$phantom" "$(json_get "$(cat "$T/wd-agent/env.json")" 'd["ANTHROPIC_API_KEY"]')" \
		"ANTHROPIC_API_KEY (one phantom per session)"
	assert_eq "$phantom" "$(json_get "$(cat "$T/wd-agent/env.json")" 'd["NONO_PROXY_TOKEN"]')" "NONO_PROXY_TOKEN"
	wait_for 3 audit_count '"status":200' 1 || fail "no audit record of the request"
	# /proc/self/environ is readable in the sandbox (the child's own process): the same phantom.
	[ -f "$T/wd-agent/environ.bin" ] || fail "/proc/self/environ unreadable: $(cat "$T/wd-agent/environ.err" 2>/dev/null)"
	assert_eq "OPENAI_API_KEY=$phantom" "$(tr '\0' '\n' <"$T/wd-agent/environ.bin" | grep '^OPENAI_API_KEY=')" \
		"OPENAI_API_KEY in /proc/self/environ"
	for key in "$REAL_OPENAI" "$REAL_ANTHROPIC"; do
		! grep -rqF -- "$key" "$T/wd-agent" || fail "a real key is in the workdir: $(grep -rlF -- "$key" "$T/wd-agent")"
		! grep -rqF -- "$key" "$LOGDIR" || fail "a real key is in $LOGDIR: $(grep -rlF -- "$key" "$LOGDIR")"
		! grep -qF -- "$key" "$T/daemon.err" "$T/daemon.out" || fail "a real key is in the daemon's output"
		out=$(ctl status --json)
		! grep -qF -- "$key" <<<"$out" || fail "a real key is in status --json"
		out=$(ctl logs --audit agent)
		! grep -qF -- "$key" <<<"$out" || fail "a real key is in the audit log"
	done
	! grep -qF -- "$phantom" "$LOGDIR/audit.ndjson" || fail "the phantom is in the audit log"
}

test_stopped_session_token_refused() {
	local old
	sdk_setup
	fake_upstream api "$DELAY_MS"
	{
		creds_ini "$UP_PORT"
		service agent "$NODE" "$NODE_DIR/token.mjs" replay old.token
	} | write_ini
	start_daemon
	wait_running 10 agent
	wait_for 10 test -s "$T/wd-agent/old.token" || fail "the first session wrote no token; log: $(tail -n 5 "$(log_of agent)")"
	old=$(cat "$T/wd-agent/old.token")
	assert_match "$PHANTOM_RE" "$old" "the first session's token"
	run ctl stop agent
	assert_rc 0 "nonoctl stop"
	assert_eq STOPPED "$(svc_state agent)" "state after stop"
	run ctl start agent
	assert_rc 0 "nonoctl start"
	wait_state 20 agent EXITED
	assert_eq false "$(result agent 'd["same"]')" "the second session has a new token"
	assert_eq 401 "$(result agent 'd["other"]["status"]')" "the stopped session's token"
	assert_eq 200 "$(result agent 'd["own"]["status"]')" "the new session's own token"
	assert_eq 1 "$(up_eval api 'len(R)')" "requests at the upstream (the 401 never forwarded)"
	assert_eq "Bearer $REAL_OPENAI" "$(up_eval api 'R[0]["headers"]["authorization"]')" "the forwarded one"
	wait_for 3 audit_count '"status":401' 1 || fail "no audit record of the 401: $(ctl logs --audit agent)"
}

test_token_refused_on_another_services_listener() {
	sdk_setup
	fake_upstream api "$DELAY_MS"
	mkdir -p "$T/shared"
	chown 65534:65534 "$T/shared"
	chmod 700 "$T/shared"
	{
		creds_ini "$UP_PORT"
		service a "$NODE" "$NODE_DIR/token.mjs" publish "$T/shared/a.token"
		printf 'write = %s\n\n' "$T/shared"
		service b "$NODE" "$NODE_DIR/token.mjs" use "$T/shared/a.token"
		printf 'read = %s\n' "$T/shared"
	} | write_ini
	start_daemon
	wait_state 20 b EXITED
	assert_eq RUNNING "$(svc_state a)" "service a, holding its token"
	assert_match "$PHANTOM_RE" "$(cat "$T/shared/a.token")" "a's token"
	assert_eq false "$(result b 'd["same"]')" "a and b have different tokens"
	assert_eq 401 "$(result b 'd["other"]["status"]')" "a's token on b's listener"
	assert_eq 200 "$(result b 'd["own"]["status"]')" "b's own token"
	assert_eq 1 "$(up_eval api 'len(R)')" "requests at the upstream (the 401 never forwarded)"
	assert_eq "Bearer $REAL_OPENAI" "$(up_eval api 'R[0]["headers"]["authorization"]')" "the forwarded one"
}

# ---- CONNECT and absolute-form requests to allowlisted hosts ----
# The stand-in for an allowlisted host is the fake upstream on 127.0.0.1:PORT (an address entry
# with a port). The supervisor puts 127.0.0.1 in NO_PROXY for the base URLs, so the clients are
# told to ignore it (curl --noproxy ''; connect_fetch.mjs clears it).

# curl_service NAME SCRIPT: a node-agent service running sh SCRIPT (in its workdir), with the
# test CA readable and the fake upstream allowlisted.
curl_service() {
	service "$1" /bin/sh "$2"
	printf 'read = %s\nallow_domain = 127.0.0.1:%s\n' "$T/pki" "$UP_PORT"
}

test_connect_curl_allowlisted() {
	sdk_setup
	fake_upstream api "$DELAY_MS"
	{
		creds_ini "$UP_PORT"
		curl_service agent tunnel.sh
	} | write_ini
	cat >"$T/wd-agent/tunnel.sh" <<-SH
	curl -sS --noproxy '' --cacert $T/pki/ca.pem -o body.json -w '%{http_code} %{http_connect}' \\
		https://127.0.0.1:$UP_PORT/v1/models >result.txt 2>curl.err
	echo "rc=\$?" >>result.txt
	SH
	start_daemon
	wait_state 20 agent EXITED
	assert_eq "200 200rc=0" "$(tr -d '\n' <"$T/wd-agent/result.txt")" \
		"curl through CONNECT (http_code, http_connect, exit); $(cat "$T/wd-agent/curl.err")"
	assert_eq '{"object":"list","data":[{"id":"fake-model","object":"model","owned_by":"fake"}]}' \
		"$(cat "$T/wd-agent/body.json")" "the allowlisted host's answer"
	assert_eq '["GET /v1/models"]' "$(up_eval api '[r["method"] + " " + r["path"] for r in R]')" "upstream requests"
	assert_eq '[null, null]' "$(up_eval api '[R[0]["headers"].get("authorization"), R[0]["headers"].get("proxy-authorization")]')" \
		"credential headers in the tunnel (none injected, none leaked)"
	wait_for 3 audit_count '"decision":"allow"' 1 || fail "no allow record in the audit log: $(ctl logs --audit agent)"
}

test_connect_curl_not_allowlisted() {
	local other
	sdk_setup
	fake_upstream other "$DELAY_MS"
	other=$UP_PORT
	fake_upstream api "$DELAY_MS"
	{
		creds_ini "$UP_PORT"
		curl_service agent denied.sh
	} | write_ini
	cat >"$T/wd-agent/denied.sh" <<-SH
	curl -s --noproxy '' --cacert $T/pki/ca.pem -o /dev/null -w '%{http_connect}' \\
		https://127.0.0.1:$other/v1/models >connect.txt
	echo " rc=\$?" >>connect.txt
	curl -s --noproxy '' -o /dev/null -w '%{http_code}' http://127.0.0.1:$other/v1/models >absolute.txt
	echo " rc=\$?" >>absolute.txt
	SH
	start_daemon
	wait_state 20 agent EXITED
	assert_eq "403 rc=56" "$(cat "$T/wd-agent/connect.txt")" "CONNECT to a port not allowlisted (http_connect, curl exit)"
	assert_eq "403 rc=0" "$(cat "$T/wd-agent/absolute.txt")" "absolute-form http:// via http_proxy, not allowlisted"
	assert_eq 0 "$(up_eval other 'C')" "connections the host not allowlisted received"
	wait_for 3 audit_count '"decision":"deny"' 2 ||
		fail "expected 2 denials in the audit log: $(ctl logs --audit agent)"
}

test_connect_node_fetch_preload() {
	sdk_setup
	fake_upstream api "$DELAY_MS"
	{
		creds_ini "$UP_PORT"
		service agent "$NODE" "$NODE_DIR/connect_fetch.mjs" "https://127.0.0.1:$UP_PORT/v1/models"
		printf 'read = %s\nread = %s\nallow_domain = 127.0.0.1:%s\n' "$PRELOAD_DIR" "$T/pki" "$UP_PORT"
		printf 'env = NODE_OPTIONS=--import %s/nono-proxy-preload.mjs\n' "$PRELOAD_DIR"
		printf 'env = NODE_EXTRA_CA_CERTS=%s\n' "$T/pki/ca.pem"
	} | write_ini
	[ -d "$PRELOAD_DIR/node_modules/undici" ] || fail "contrib/node/node_modules/undici is missing (npm ci --prefix contrib/node)"
	start_daemon
	wait_state 20 agent EXITED
	assert_eq 200 "$(result agent 'd.get("status", d.get("error", "") + " / " + d.get("cause", ""))')" "fetch through CONNECT"
	assert_eq '{"object":"list","data":[{"id":"fake-model","object":"model","owned_by":"fake"}]}' \
		"$(result agent 'd["body"]')" "the allowlisted host's answer"
	assert_eq '["GET /v1/models"]' "$(up_eval api '[r["method"] + " " + r["path"] for r in R]')" "upstream requests"
}

run_tests "$@"
