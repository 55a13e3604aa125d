#!/usr/bin/env bash
# Benchmark nono-supervise against supervisord, runit and PM2; prints one table.
#
#   tests/bench/run.sh [--quick] [--tools nono,supervisord,runit,pm2] [--json FILE] [--keep] [-v]
#   tests/bench/run.sh --sandbox [--quick] ...   only the sandbox benchmark (see sandbox.sh)
#   tests/bench/run.sh --proxy [--quick] [-v]    only the credential proxy benchmark (proxy.sh)
#   tests/bench/run.sh --run [--quick]           only `nono-supervise run` vs bubblewrap (runcmd.py)
#
# BUILD=DIR selects the meson build dir (default: <repo>/build). Runs as root. Installs what is
# missing: Debian packages supervisor and runit, pm2 (npm) into tests/bench/.npm. Every process
# started here is killed on exit. A tool that cannot be set up shows "n/a".
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/apt.sh"
# --sandbox: only the sandbox benchmark (sandbox.sh: sandboxed vs plain spawn), nothing installed
for a in "$@"; do [ "$a" = --sandbox ] && exec "$here/sandbox.sh" "$@"; done
# --proxy: only the credential proxy benchmark (proxy.sh: direct vs nono-supervise vs nginx)
for a in "$@"; do [ "$a" = --proxy ] && exec "$here/proxy.sh" "$@"; done
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
# --run: one sandboxed command start to exit, against bubblewrap (installed if missing)
for a in "$@"; do
	[ "$a" = --run ] || continue
	command -v bwrap >/dev/null || apt_install /dev/null bubblewrap ||
		echo "[bench] bubblewrap could not be installed: no ratios" >&2
	exec python3 "$here/runcmd.py" --build "$BUILD" "$@"
done
tag="nonobench-$$-$(date +%s%N)"
work=$(mktemp -d /tmp/nono-bench.XXXXXX)
keep=0
for a in "$@"; do [ "$a" = --keep ] && keep=1; done

cleanup() {
	python3 "$here/bench.py" --sweep "$tag" || true
	if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

say() { echo "[bench] $*" >&2; }

# --- Debian packages: supervisor, runit
pkgs=()
[ -x /usr/bin/supervisord ] && [ -x /usr/bin/supervisorctl ] || pkgs+=(supervisor)
[ -x /usr/bin/runsvdir ] && [ -x /usr/bin/sv ] && [ -x /usr/bin/svlogd ] || pkgs+=(runit)
if [ ${#pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		say "not root: cannot install ${pkgs[*]}"
	else
		say "installing ${pkgs[*]} (log: $work/apt.log)"
		apt_install "$work/apt.log" "${pkgs[@]}" ||
			say "apt-get install ${pkgs[*]} failed; those columns will show n/a"
	fi
fi

# --- pm2 into a scratch prefix (never the user's global one)
pm2="$here/.npm/node_modules/.bin/pm2"
if [ ! -x "$pm2" ]; then
	if command -v npm >/dev/null && command -v node >/dev/null; then
		say "installing pm2 into $here/.npm (log: $work/npm.log)"
		timeout 600 npm install --prefix "$here/.npm" --no-save --no-audit --no-fund \
			--loglevel=error pm2 >"$work/npm.log" 2>&1 || say "npm install pm2 failed; PM2 shows n/a"
	else
		say "node/npm missing; PM2 shows n/a"
	fi
fi
[ -x "$pm2" ] || pm2=""

# --- the log writer
writer="$work/nbwriter"
if ! cc -O2 -std=c11 -D_GNU_SOURCE -o "$writer" "$here/writer.c" 2>"$work/cc.log"; then
	say "cannot compile writer.c ($(head -c 300 "$work/cc.log")); log rows skipped"
	writer=""
fi
chmod 755 "$work"

# Bounded: the whole run normally takes < 10 minutes. Runs in the background so that a signal
# to this script is handled at once: python gets TERM, stops everything, then the trap sweeps.
timeout -k 30 1500 python3 "$here/bench.py" --build "$BUILD" --pm2 "$pm2" --writer "$writer" \
	--tag "$tag" --workdir "$work/run" "$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 130' INT TERM HUP
wait $child
