#!/bin/bash
# tools.sh: real tools inside the sandbox (curl, bash /dev/tcp, getent, cat, ls); prints
# "PROBE <name> <result>" like nono-probe. Run as a sandboxed service by test_probes.sh, only
# after nono-probe's `netif` showed a netns with only lo (so 192.0.2.1 cannot be reached).
# Environment: PROBE_HOST_PORT (a listener in the host netns), PROBE_HOME, PROBE_PROXY_PORT.
set -u
PROXY=${PROBE_PROXY_PORT:-8383}

# errno text (bash, curl -v, cat) -> errno name
errname() {
	case $1 in
	*"Permission denied"*) echo EACCES ;;
	*"Operation not permitted"*) echo EPERM ;;
	*"Network is unreachable"*) echo ENETUNREACH ;;
	*"Connection refused"*) echo ECONNREFUSED ;;
	*"No such file"*) echo ENOENT ;;
	*"timed out"* | *"Timeout"*) echo ETIMEDOUT ;;
	*"Could not resolve"* | *"resolve host"*) echo RESOLVE_FAILED ;;
	*) echo "OTHER" ;;
	esac
}

devtcp() {	# NAME HOST PORT
	local err
	if err=$(timeout 5 bash -c "exec 3<>/dev/tcp/$2/$3" 2>&1); then
		echo "PROBE $1 ok"
	else
		echo "PROBE $1 $(errname "$err")"
	fi
}

curl_get() {	# NAME [CURL-OPTIONS...] URL: HTTP_<code> when an answer came back, else an errno name
	local name=$1 out code
	shift
	out=$(curl -v -sS -m 5 -o /dev/null -w 'HTTPCODE=%{http_code}\n' "$@" 2>&1)
	code=$(printf '%s\n' "$out" | sed -n 's/^HTTPCODE=//p')
	if [ -n "$code" ] && [ "$code" != 000 ]; then
		echo "PROBE $name HTTP_$code"
	else
		echo "PROBE $name $(errname "$out")"
	fi
}

devtcp bash_devtcp_host 127.0.0.1 "$PROBE_HOST_PORT"
devtcp bash_devtcp_host6 ::1 "$PROBE_HOST_PORT"
devtcp bash_devtcp_proxy 127.0.0.1 "$PROXY"
devtcp bash_devtcp_unrouted 192.0.2.1 "$PROXY"
curl_get curl_host --noproxy "*" "http://127.0.0.1:$PROBE_HOST_PORT/"
curl_get curl_proxy "http://127.0.0.1:$PROXY/"
curl_get curl_unrouted --noproxy "*" "http://192.0.2.1:$PROXY/"
curl_get curl_public "https://example.com/"
if out=$(getent hosts example.com 2>&1); then
	echo "PROBE getent_hosts ok"
else
	echo "PROBE getent_hosts EXIT_$?"
fi
if out=$(cat "$PROBE_HOME/.ssh/id_rsa" 2>&1); then
	echo "PROBE cat_ssh_key ok"
else
	echo "PROBE cat_ssh_key $(errname "$out")"
fi
if out=$(ls / 2>&1); then
	echo "PROBE ls_root ok"
else
	echo "PROBE ls_root $(errname "$out")"
fi
echo "PROBES done tools.sh"
