#!/usr/bin/env bash
# Boot a test kernel with the usual test disks and get a busybox shell on
# this terminal, with the guest helpers loaded (load_clone_module, ...):
#   tests/vm/shell.sh KVER        (KVER may be a line: 6.1, 6.12)
# The disks live in build/vm/KVER/shell/ and are kept between runs
# (FRESH=1 makes new ones). Quit: `exit` in the shell, or Ctrl-a x.
# Set NO_BUILD=1 to boot the module and initramfs already built.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=$(resolve_kernel "${1:?usage: shell.sh KVER}") || die "no kernel $1 installed"
dir=$BUILD/vm/$kver/shell
mkdir -p "$dir"
if [ -z "${NO_BUILD:-}" ]; then
	(
		flock 9
		"$VM_DIR/build-module.sh" "$kver" >/dev/null || echo "warning: module build failed; booting without dm-clone.ko" >&2
		"$VM_DIR/mkinitramfs.sh" "$kver" "$dir/initrd.img"
	) 9>"$BUILD/vm/$kver.lock"
fi
[ -e "$dir/initrd.img" ] || die "no initramfs in $dir"
if [ -n "${FRESH:-}" ] || [ ! -e "$dir/src.img" ]; then
	make_disks "$dir"
fi

qemu_args "$kver" "$dir/initrd.img" "$dir"
exec "${QEMU_ARGS[@]}" -display none -serial mon:stdio
