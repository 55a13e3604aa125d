#!/bin/sh
# Set up a Debian/Ubuntu machine for nono-supervise, build it, then run the demo or the tests.
#   contrib/setup.sh demo    install what is missing, build, run services/demo.ini in the foreground
#   contrib/setup.sh test    install what is missing, build, run the whole test suite
#   contrib/setup.sh build   install what is missing and build
set -eu
cd "$(dirname "$0")/.."

PACKAGES="meson ninja-build pkg-config gcc libc6-dev libuv1-dev libcjson-dev libssl-dev
libsecret-1-dev libinih-dev libcriterion-dev libseccomp-dev python3 procps util-linux
iproute2 curl dbus-daemon dbus-bin nodejs gnome-keyring libsecret-tools"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

deps() {
	missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "setup: installing:$missing"
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=300 $missing
}

build() {
	BUILD=${BUILD:-build}
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" -Dwerror=true
	fi
	ninja -C "$BUILD"
}

# npm packages, as pinned in each package-lock.json: the clients test_sdk.sh runs as sandboxed
# services (tests/node) and undici for the Node 20 fetch preload (contrib/node). Each is
# skipped while its node_modules is newer than its lock file.
node_deps() {
	local dir
	for dir in tests/node contrib/node; do
		[ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] && continue
		command -v npm >/dev/null || { echo "setup: npm is missing (needed for $dir)" >&2; exit 1; }
		echo "setup: installing $dir (npm ci)"
		npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
	done
}

case "${1:-}" in
demo)
	deps
	build
	echo "setup: running the demo fleet; in another terminal try:"
	echo "  $(pwd)/${BUILD:-build}/supervisor/nonoctl status"
	echo "  $(pwd)/${BUILD:-build}/supervisor/nonoctl logs -f crasher"
	exec "${BUILD:-build}/supervisor/nono-supervise" -f services/demo.ini
	;;
test)
	deps
	build
	node_deps
	exec tests/run.sh
	;;
build)
	deps
	build
	;;
*)
	echo "usage: contrib/setup.sh demo|test|build" >&2
	exit 1
	;;
esac
