#!/usr/bin/env bash
# Install the .debs as a user does, without touching the host, and print the
# directory that holds what the install changed:
#   tests/vm/deb-install.sh
# `dpkg -i dm-clone-dkms_*.deb dm-clone-tools_*.deb` (tests/vm/build-debs.sh
# builds them) runs in a private mount namespace with writable overlays on
# /etc, /usr, /var, /boot (and /lib, /sbin, /bin when they are not links
# into /usr). Their upper layers are DIR/etc, DIR/usr, ...: the packages'
# files, the dpkg database with them installed, and what the maintainer
# scripts made, above all the module DKMS built and installed for every
# kernel with headers (dm-clone-dkms's postinst; the host's own kernel,
# when it has no headers, is skipped as on any machine). Triggers are
# deferred (dpkg --no-triggers): the initramfs is made by
# tests/vm/mkinitramfs-debian.sh with these layers under it (INSTALLED=DIR).
# Each kernel of default_kernels must then have DKMS's module in
# /lib/modules/KVER/updates/dkms/ and depmod must find it there; DIR/log
# is the whole install's output. Cached in build/deb-install/KEY (the
# packages' and the kernels' identity, dkms's version).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "needs root (mount namespace, overlays)"
for p in dpkg dkms unshare depmod; do
	command -v "$p" >/dev/null || die "no $p (tests/vm/deps.sh installs dkms)"
done
debs=$("$VM_DIR/build-debs.sh")
mapfile -t kernels < <(default_kernels)
[ ${#kernels[@]} -gt 0 ] || die "no kernel with headers installed"

cache=$BUILD/deb-install
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
case $cache/ in /usr/* | /etc/* | /var/* | /boot/* | /lib/*) die "$cache is under an overlaid directory" ;; esac
key=$( {
	echo "${debs##*/}"
	dpkg-query -W dkms dpkg
	for k in "${kernels[@]}"; do ls -lL --time-style=+%s "/lib/modules/$k/build/Makefile" "/lib/modules/$k/modules.dep"; done
} | sha256sum | cut -c1-16)
out=$cache/$key

cache_take "$cache" "$key"
mkdir -p "$out/.work"

# shellcheck disable=SC2016 # expanded by the inner shell
inner='set -eu
mount --make-rprivate /
for d in $DIRS; do
	mkdir -p "$O/$d" "$O/.work/$d"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$O/$d,workdir=$O/.work/$d" "/$d"
done
echo "\$ dpkg -i --no-triggers ${DEBS##*/}/*.deb"
dpkg -i --no-triggers "$DEBS"/dm-clone-dkms_*.deb "$DEBS"/dm-clone-tools_*.deb
for k in $KERNELS; do
	echo "\$ dkms status -m dm-clone -k $k"
	dkms status -m dm-clone -k "$k"
	dkms status -m dm-clone -k "$k" | grep -q ": installed" || { echo "dm-clone is not installed for $k"; exit 1; }
	p=$(modinfo -k "$k" -n dm-clone)
	echo "modinfo -k $k -n dm-clone: $p"
	case $p in */updates/dkms/dm-clone.ko*) ;; *) echo "depmod finds $p for $k, not DKMS'"'"'s"; exit 1 ;; esac
done'
dirs="etc usr var boot"
for d in lib sbin bin; do [ -L "/$d" ] || dirs="$dirs $d"; done
t0=$SECONDS
if ! O=$out DEBS=$debs DIRS=$dirs KERNELS="${kernels[*]}" unshare -m sh -c "$inner" >"$out/log" 2>&1; then
	tail -n 30 "$out/log" >&2
	die "installing the .debs failed (log: $out/log)"
fi
rm -rf "$out/.work"
echo "installed in $((SECONDS - t0))s" >>"$out/log"
echo "$dirs" >"$out/dirs"
touch "$out/done"
echo "$out"
