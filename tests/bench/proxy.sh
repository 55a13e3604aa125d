#!/usr/bin/env bash
# Credential proxy benchmark: direct vs nono-supervise's proxy vs nginx, against one local fake
# HTTPS upstream; prints one table with ratios and goals (see proxy.py).
#
#   tests/bench/proxy.sh [--quick] [-v] [--keep]
#   tests/bench/run.sh --proxy [same options]
#
# BUILD=DIR selects the meson build dir (default: <repo>/build). Runs as root. Installs what is
# missing: Debian packages nginx and wrk (the system nginx service is never used: ours runs with
# its own config in the temp dir). Every process started here is killed on exit (daemons, nginx,
# the upstream, the clients in the services' network namespaces); the run is bounded (timeout).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/apt.sh"
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
if [ "$(id -u)" != 0 ]; then
	echo "proxy benchmark: run as root (services run as nobody; the client enters their netns)" >&2
	exit 1
fi
work=$(mktemp -d /tmp/nono-proxy-bench.XXXXXX)
chmod 755 "$work"
keep=0
for a in "$@"; do [ "$a" = --keep ] && keep=1; done

say() { echo "[proxy-bench] $*" >&2; }

cleanup() {
	python3 "$here/proxy.py" --sweep "$work" || true
	if [ "$keep" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

pkgs=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || pkgs+=(nginx)
command -v wrk >/dev/null || pkgs+=(wrk)
command -v openssl >/dev/null || pkgs+=(openssl)
command -v nsenter >/dev/null || pkgs+=(util-linux)
[ -f /usr/include/openssl/ssl.h ] || pkgs+=(libssl-dev)
if [ ${#pkgs[@]} -gt 0 ]; then
	say "installing ${pkgs[*]} (log: $work/apt.log)"
	apt_install "$work/apt.log" "${pkgs[@]}" ||
		say "apt-get install ${pkgs[*]} failed (see above); the nginx column or the run may fail"
	[ -s "$work/apt.log" ] && [ "$keep" = 1 ] && say "apt log: $work/apt.log"
fi

# In the background so a signal here is handled at once: python gets TERM and cleans up.
timeout -k 30 1500 python3 "$here/proxy.py" --build "$BUILD" --workdir "$work" "$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 130' INT TERM HUP
wait $child
