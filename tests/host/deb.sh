#!/usr/bin/env bash
# host/deb: `make deb` builds dm-clone-dkms and dm-clone-tools, each holds
# what issue 7 lists, and lintian reports no errors.
#   tests/host/deb.sh WORKDIR
# tests/check runs it in the background while the VMs run (results/host/deb.*).
set -uo pipefail
# shellcheck disable=SC1091 # ../vm/lib.sh: REPO, VM_DIR
. "$(dirname "$0")/../vm/lib.sh"

work=${1:?usage: deb.sh WORKDIR}
rm -rf "$work"
mkdir -p "$work"
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
for p in dpkg-buildpackage dh lintian; do
	command -v "$p" >/dev/null || { echo "FAIL: no $p (tests/vm/deps.sh installs debhelper, dh-dkms, dpkg-dev, lintian)"; exit 1; }
done

# make deb, once a tree (tests/vm/build-debs.sh: boot/020 installs these)
if ! built=$("$VM_DIR/build-debs.sh" 2>"$work/build-debs.log"); then
	tail -n 30 "$work/build-debs.log"
	echo "FAIL: make deb failed"
	exit 1
fi
tail -n 1 "$built/make-deb.log"
cp "$built"/*.deb "$built"/*.changes "$built"/*.buildinfo "$work/"
ver=$(dpkg-parsechangelog -l "$REPO/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
dkms_deb=$work/dm-clone-dkms_${ver}_all.deb
tools_deb=$work/dm-clone-tools_${ver}_${arch}.deb
changes=$work/dm-clone_${ver}_${arch}.changes
for f in "$dkms_deb" "$tools_deb" "$changes"; do
	[ -e "$f" ] || { echo "FAIL: make deb made no ${f##*/}"; ls -l "$work"; exit 1; }
done

# has DEB MODE PATH...: each PATH is in the package; MODE x: executable
has() {
	local deb=$1 mode=$2 list p line
	shift 2
	list=$(dpkg-deb -c "$deb")
	for p in "$@"; do
		line=$(awk -v p="./$p" '$6 == p' <<<"$list")
		if [ -z "$line" ]; then
			bad "${deb##*/} lacks /$p"
		elif [ "$mode" = x ] && [[ ${line:3:1} != x ]]; then
			bad "${deb##*/}: /$p is not executable: $line"
		fi
	done
}

echo "== dm-clone-dkms: the module sources and dkms.conf in /usr/src/dm-clone-$ver"
dpkg-deb -c "$dkms_deb" | awk '{ print "  " $1, $6 }'
src=usr/src/dm-clone-$ver
has "$dkms_deb" - "$src/dkms.conf" "$src/Kbuild"
for f in "$REPO"/dm-clone-*.c "$REPO"/dm-clone-*.h; do has "$dkms_deb" - "$src/${f##*/}"; done
dpkg-deb --fsys-tarfile "$dkms_deb" | tar -xOf - "./$src/dkms.conf" >"$work/dkms.conf"
grep -qx "PACKAGE_VERSION=\"$ver\"" "$work/dkms.conf" || bad "dkms.conf: PACKAGE_VERSION is not \"$ver\""
grep -qx 'BUILT_MODULE_NAME\[0\]="dm-clone"' "$work/dkms.conf" || bad "dkms.conf: BUILT_MODULE_NAME[0] is not dm-clone"
# the package's maintainer scripts hand the sources to DKMS
dpkg-deb -e "$dkms_deb" "$work/dkms-control"
grep -q 'dkms' "$work/dkms-control/postinst" 2>/dev/null || bad "dm-clone-dkms has no postinst running dkms"
grep -q 'dkms' "$work/dkms-control/prerm" 2>/dev/null || bad "dm-clone-dkms has no prerm running dkms"
grep -q '^Depends:.*dkms' "$work/dkms-control/control" || bad "dm-clone-dkms does not depend on dkms"

echo "== dm-clone-tools: tools, scripts, man pages (dm-clone(7) too), initramfs hook, systemd units and generator"
dpkg-deb -c "$tools_deb" | awk '{ print "  " $1, $6 }'
tools=$(sed -n 's/^TOOLS *:= *//p' "$REPO/tools/Makefile")
[ -n "$tools" ] || bad "cannot read TOOLS from tools/Makefile"
for t in $tools; do
	has "$tools_deb" x "usr/sbin/$t"
	has "$tools_deb" - "usr/share/man/man8/$t.8.gz"
done
has "$tools_deb" x usr/sbin/clone-migrate usr/sbin/clone-activate \
	usr/share/initramfs-tools/hooks/dm-clone usr/share/initramfs-tools/scripts/local-top/dm-clone \
	usr/lib/systemd/system-generators/clone-activate-generator
has "$tools_deb" - usr/share/man/man8/clone-migrate.8.gz usr/share/man/man8/clone-activate.8.gz \
	usr/share/man/man5/clonetab.5.gz usr/share/man/man7/dm-clone.7.gz \
	lib/systemd/system/clone-activate.service lib/systemd/system/clone-finish.service \
	lib/systemd/system/clone-trim.service lib/systemd/system/clone-activate-netdev.service
# the tools are built binaries of this architecture
dpkg-deb -x "$tools_deb" "$work/tools-root"
file -b "$work/tools-root/usr/sbin/clone_check" 2>/dev/null | grep -q 'ELF' || [ ! -x /usr/bin/file ] ||
	bad "usr/sbin/clone_check is not an ELF executable"
"$work/tools-root/usr/sbin/clone_metadata_size" --device-size 1G --region-size 64k >/dev/null 2>&1 ||
	bad "the packaged clone_metadata_size does not run"
# the units run the packaged clone-activate; the hook looks in /usr/sbin
for u in clone-activate clone-finish clone-trim; do
	grep -q '^ExecStart=/usr/sbin/clone-activate ' "$work/tools-root/lib/systemd/system/$u.service" 2>/dev/null ||
		bad "$u.service does not run /usr/sbin/clone-activate"
done
grep -qx 'sbindir=/usr/sbin' "$work/tools-root/usr/share/initramfs-tools/hooks/dm-clone" 2>/dev/null ||
	bad "the hook's sbindir is not /usr/sbin"
dpkg-deb -f "$tools_deb" Depends | grep -q dmsetup || bad "dm-clone-tools does not depend on dmsetup"

echo "== lintian"
t0=$SECONDS
lintian --fail-on error --tag-display-limit 0 "$changes" >"$work/lintian.out" 2>&1
rc=$?
sed 's/^/  /' "$work/lintian.out"
e=$(grep -c '^E: ' "$work/lintian.out")
w=$(grep -c '^W: ' "$work/lintian.out")
echo "lintian: $e errors, $w warnings (exit $rc, $((SECONDS - t0))s)"
if [ "$rc" != 0 ] || [ "$e" != 0 ]; then bad "lintian reports $e errors (exit $rc)"; fi

[ $fails = 0 ] || { echo "FAIL: $fails checks failed"; exit 1; }
echo "ok: both packages built, contents as expected, lintian clean of errors"
