#!/usr/bin/env bash
# Install what the VM tests need on a Debian 12 host (run as root).
# Idempotent and quiet: apt runs only when a package is missing.
#   deps.sh [--list]    --list: print the missing packages, install nothing
set -euo pipefail

pkgs=(
	qemu-system-x86 qemu-utils
	linux-image-amd64 linux-headers-amd64           # the 6.1 line
	linux-image-6.12-amd64 linux-headers-6.12-amd64 # the 6.12 line
	busybox-static fio dmsetup e2fsprogs xfsprogs cpio xz-utils kmod bash
	gcc make libc6-dev sparse
	# a real remote source in the guest, over its loopback: NBD, iSCSI, netem
	nbd-server nbd-client open-iscsi iproute2
	# an image on a web server as the source: nbdkit's curl plugin
	nbdkit
	# clone-migrate --vg: LVs made with lvm2 in the guest
	lvm2
	# boot tests: Debian's own initramfs (tests/vm/mkinitramfs-debian.sh)
	initramfs-tools udev zstd
	# boot/030: a Debian 12 root with systemd as init (tests/vm/systemd-root.sh)
	mmdebstrap
	# host tests: make deb, lintian, dkms build, the bench arithmetic (tests/host/)
	dpkg-dev debhelper dh-dkms dkms lintian file jq
	# the model of the metadata commit protocol (make check-model)
	spin
)
# The long run also fuzzes the metadata parser (libFuzzer).
[ "${LONG:-0}" = 1 ] && pkgs+=(clang)
# make check-debug builds a kernel (tests/vm/debug-kernel.sh) from Debian's
# source with these.
[ "${DEBUG_KERNEL:-0}" = 1 ] && pkgs+=(linux-source-6.12 bc bison flex libelf-dev libssl-dev)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
# --list: print what is missing (one line), install nothing
[ "${1:-}" = --list ] && { echo "${missing[*]}"; exit 0; }
[ ${#missing[@]} -eq 0 ] && exit 0

echo ">>> installing: ${missing[*]}" >&2
[ "$(id -u)" = 0 ] || { echo "error: need root to install packages" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
