#!/usr/bin/env bash
# Build, once, a small Debian 12 root whose init is systemd, for the boot
# tests that need a real systemd in the real root (tests/boot/030-*):
#   tests/vm/systemd-root.sh
# Prints the cache entry on stdout; it holds
#   root.tar     mmdebstrap's output (bookworm, variant minbase, the
#                packages below, no documentation or locales)
#   build.log    mmdebstrap's output, its time and size
# The entry lives in SYSTEMD_ROOT_CACHE (default
# /var/cache/dm-clone/systemd-root), keyed on the package list and this
# script; one build at a time (a second caller waits and reuses it), older
# keys are removed. The Debian archive must be reachable: SYSTEMD_ROOT_MIRROR,
# default http://deb.debian.org/debian (about 47 MiB of packages; the build
# takes about 3 minutes, the entry 164 MiB).
set -euo pipefail
# shellcheck disable=SC1091 # lib.sh: die, note, cache_take
. "$(dirname "$0")/lib.sh"

# what the guest's checks use: systemd as init, udev (dev-mapper-*.device),
# dmsetup, e2fsck and blkid, kmod for the module
PKGS="systemd-sysv udev dmsetup e2fsprogs kmod"
cache=${SYSTEMD_ROOT_CACHE:-/var/cache/dm-clone/systemd-root}
# named: mmdebstrap would otherwise read its sources from a stdin that is
# not a terminal
mirror=${SYSTEMD_ROOT_MIRROR:-http://deb.debian.org/debian}
command -v mmdebstrap >/dev/null || die "no mmdebstrap (apt-get install mmdebstrap, or tests/vm/deps.sh)"
key=$({ echo "$PKGS"; cat "$0"; } | sha256sum | cut -c1-16)
mkdir -p "$cache"
cache_take "$cache" "$key"

dir=$cache/$key
mkdir -p "$dir"
note "systemd root: building $dir with mmdebstrap (log: $dir/build.log)"
t0=$SECONDS
# shellcheck disable=SC2016 # the hook's $1 is mmdebstrap's: the root
mmdebstrap --variant=minbase --include="${PKGS// /,}" \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--aptopt='Acquire::Languages "none"' \
	--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
	bookworm "$dir/root.tar" "$mirror" </dev/null >"$dir/build.log" 2>&1 ||
	{ tail -n 20 "$dir/build.log" >&2; die "mmdebstrap failed (log: $dir/build.log)"; }
echo "built in $((SECONDS - t0))s, $(du -m "$dir/root.tar" | cut -f1) MiB" >>"$dir/build.log"
touch "$dir/done"
echo "$dir"
