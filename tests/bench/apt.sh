# apt.sh: sourced by the benchmark scripts. apt_install LOG PKG...: install the Debian packages
# (no recommends) with their output in LOG; on failure once more after `apt-get update` (a
# fresh machine has no package lists). Returns apt-get's status.
apt_install() {
	local log=$1
	shift
	export DEBIAN_FRONTEND=noninteractive
	_apt_get() {
		timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@" \
			>>"$log" 2>&1
	}
	_apt_get "$@" || { timeout 600 apt-get -o DPkg::Lock::Timeout=300 update >>"$log" 2>&1 &&
		_apt_get "$@"; }
}
