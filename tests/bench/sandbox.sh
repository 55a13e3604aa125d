#!/usr/bin/env bash
# Sandbox benchmark (issue 3 section 4): sandboxed spawn vs plain spawn with the real daemon;
# prints one table with ratios.
#
#   tests/bench/sandbox.sh [--quick] [--spawns N] [--rounds N] [--services N] [--nobody-plain]
#                          [--steps spawn,start100] [--keep]
#   tests/bench/run.sh --sandbox [same options]
#
# BUILD=DIR selects the meson build dir (default: <repo>/build). Runs as root. Every process
# started here is killed on exit; the whole run is bounded (timeout).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
if [ "$(id -u)" != 0 ]; then
	echo "sandbox benchmark: run as root" >&2
	exit 1
fi
# In the background so a signal here is handled at once: python gets TERM and cleans up.
timeout -k 30 1200 python3 "$here/sandbox.py" --build "$BUILD" "$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 130' INT TERM HUP
wait $child
