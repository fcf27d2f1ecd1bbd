# shellcheck shell=bash
# Host-side helpers shared by tests/check, tests/vm/*.sh (bash, sourced).

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=$(dirname "$VM_DIR")
REPO=$(dirname "$TESTS_DIR")
BUILD=${BUILD:-$REPO/build}

die() { echo "error: $*" >&2; exit 1; }
note() { echo ">>> $*" >&2; }

# cache_take DIR KEY, in a script that builds DIR/KEY once and prints it:
# holds DIR's lock until the script exits (runs side by side wait, then
# share the result); if DIR/KEY is finished (DIR/KEY/done), prints it and
# exits; else removes what other keys left in DIR: one entry at a time.
cache_take() {
	exec {_cache_lock}>"$1/.lock"
	flock "$_cache_lock"
	if [ -e "$1/$2/done" ]; then
		echo "$1/$2"
		exit 0
	fi
	find "$1" -mindepth 1 -maxdepth 1 -name '[!.]*' -exec rm -rf {} +
}

# Kernels we can test: an installed image plus headers to build against.
# With DEBUG_KERNEL_DIR (a build of tests/vm/debug-kernel.sh, `make
# check-debug`), that kernel alone: it is never installed in /boot or
# /lib/modules, so no other run picks it.
all_kernels() {
	local d k
	if [ -n "${DEBUG_KERNEL_DIR:-}" ]; then
		cat "$DEBUG_KERNEL_DIR/release"
		return
	fi
	for d in /lib/modules/*/build; do
		[ -e "$d/Makefile" ] || continue
		k=${d#/lib/modules/}; k=${k%/build}
		[ -e "/boot/vmlinuz-$k" ] && echo "$k"
	done | sort -V
}

# Where kernel K's image, build tree (KDIR) and modules are: /boot/vmlinuz-K,
# /lib/modules/K/build and /lib/modules/K, or the debug kernel's. modroot
# prints the root to give modprobe -d, empty for the host's /lib/modules.
is_debug_kernel() { [ -n "${DEBUG_KERNEL_DIR:-}" ] && [ "$1" = "$(cat "$DEBUG_KERNEL_DIR/release")" ]; }
kernel_image() { if is_debug_kernel "$1"; then echo "$DEBUG_KERNEL_DIR/vmlinuz"; else echo "/boot/vmlinuz-$1"; fi; }
kernel_build() { if is_debug_kernel "$1"; then echo "$DEBUG_KERNEL_DIR/src"; else echo "/lib/modules/$1/build"; fi; }
kernel_modroot() { if is_debug_kernel "$1"; then echo "$DEBUG_KERNEL_DIR/root"; fi; }

# "6.1.0-56-amd64" -> "6.1": the kernel line (major.minor).
kernel_line() { echo "$1" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/'; }

# Newest installed kernel of each line: what a plain run tests.
default_kernels() {
	all_kernels | awk -F. '{ line = $1 "." $2; last[line] = $0; if (!(line in seen)) { seen[line] = 1; order[++n] = line } }
		END { for (i = 1; i <= n; i++) print last[order[i]] }'
}

# Exact version, or a line prefix like "6.12" (newest match).
resolve_kernel() {
	local want=$1 k found=
	for k in $(all_kernels); do
		[ "$k" = "$want" ] && { echo "$k"; return 0; }
	done
	for k in $(all_kernels); do
		[ "$(kernel_line "$k")" = "$want" ] && found=$k
		case $k in "$want".*|"$want"-*) [ -z "$found" ] && found=$k ;; esac
	done
	[ -n "$found" ] && { echo "$found"; return 0; }
	return 1
}

# ---------------------------------------------------------------- VMs

VM_SMP=${VM_SMP:-2}
VM_MEM=${VM_MEM:-2048}
# A whole number the guest's test timeouts (and its hung-task timeout) and the
# host's limits below are multiplied by: 1, more for a slower kernel (the
# debug kernel of `make check-debug`).
TIMEOUT_FACTOR=${TIMEOUT_FACTOR:-1}
# panic=-1 + oops=panic + -no-reboot: any crash ends the boot at once.
# printk.devkmsg=on: the runner's markers in /dev/kmsg must never be dropped.
VM_APPEND="console=ttyS0 panic=-1 oops=panic loglevel=7 log_buf_len=8M printk.devkmsg=on ${VM_APPEND_EXTRA:-}"

# The disks of one boot sequence: fresh sparse (zero) files. Order matters:
# the guest sees them as vda (results), vdb SRC, vdc DST, vdd META,
# vde SCRATCH, vdf SCRATCH2.
DISKS="results:64M src:512M dst:512M meta:64M scratch:1G scratch2:1G"
make_disks() {
	local dir=$1 d
	mkdir -p "$dir"
	for d in $DISKS; do
		rm -f "$dir/${d%%:*}.img"
		truncate -s "${d#*:}" "$dir/${d%%:*}.img"
	done
}

# qemu arguments for booting KVER with INITRD on the disks in DIR.
qemu_args() {
	local kver=$1 initrd=$2 dir=$3 d n=0
	QEMU_ARGS=(qemu-system-x86_64 -accel tcg -cpu max -smp "$VM_SMP" -m "$VM_MEM"
		-nodefaults -no-reboot -kernel "$(kernel_image "$kver")" -initrd "$initrd"
		-append "$VM_APPEND")
	for d in $DISKS; do
		# Default writeback cache: what the guest wrote before a crash
		# is in the file. discard=unmap lets discards punch holes. A disk
		# named in VM_WRITE_THROUGH tells the guest it has no volatile
		# cache (its queue says "write through"), so the guest's block
		# layer drops FUA and PREFLUSH from the bios sent to it.
		local wc=
		case " ${VM_WRITE_THROUGH:-} " in *" ${d%%:*} "*) wc=,write-cache=off ;; esac
		QEMU_ARGS+=(-drive "file=$dir/${d%%:*}.img,if=none,id=hd$n,format=raw,discard=unmap"
			-device "virtio-blk-pci,drive=hd$n$wc")
		n=$((n + 1))
	done
}

# run_boot KVER INITRD DIR CONSOLE: boot once, serial console to CONSOLE.
# The runner's kernel-log markers show progress. The guest enforces each
# test's TIMEOUT itself; the host kills the VM only when that failed (a test
# still running 60 s after its TIMEOUT) or when booting or the step between
# two tests takes over VM_STEP_TIMEOUT (180 s), both times TIMEOUT_FACTOR,
# or when the whole run's time budget (BUDGET_END, in $SECONDS) has passed.
# Every boot is bounded.
# Returns 0 when the VM ended by itself, 124 when killed.
run_boot() {
	local kver=$1 initrd=$2 dir=$3 console=$4 step=$((${VM_STEP_TIMEOUT:-180} * TIMEOUT_FACTOR))
	local qpid last='' line tmo deadline allow
	qemu_args "$kver" "$initrd" "$dir"
	: >"$console"
	"${QEMU_ARGS[@]}" -display none -serial "file:$console" >"$console.qemu" 2>&1 &
	qpid=$!
	allow=$step
	deadline=$((SECONDS + allow))
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 0.5
		line=$(grep -a 'dmclone-harness: \(READY\|START\|END\|DONE\)' "$console" | tail -n 1)
		if [ "$line" != "$last" ]; then
			last=$line allow=$step
			case $line in
			*" START "*)
				tmo=${line##*timeout=}; tmo=${tmo%%[!0-9]*}
				allow=$((${tmo:-300} + 60 * TIMEOUT_FACTOR)) ;;
			esac
			deadline=$((SECONDS + allow))
		fi
		if [ $SECONDS -gt $deadline ] || [ $SECONDS -gt "${BUDGET_END:-$SECONDS}" ]; then
			if [ $SECONDS -gt $deadline ]; then
				echo "harness: killing the VM: no progress for ${allow}s" >>"$console"
			else
				echo "harness: killing the VM: the time budget of ${CHECK_BUDGET}s ran out" >>"$console"
			fi
			kill "$qpid" 2>/dev/null
			sleep 2
			kill -9 "$qpid" 2>/dev/null
			wait "$qpid" 2>/dev/null
			return 124
		fi
	done
	wait "$qpid" 2>/dev/null
	return 0
}

# plan_initrd INITRD OUT BOOT TIMEOUT LONG TEST...: INITRD plus a cpio
# holding /etc/plan, which tells the guest runner what to run in this boot.
plan_initrd() {
	local initrd=$1 out=$2 boot=$3 tmo=$4 long=$5 d
	shift 5
	d=$(mktemp -d)
	mkdir "$d/etc"
	printf 'BOOT=%s\nPLAN_TIMEOUT=%s\nLONG=%s\nTIMEOUT_FACTOR=%s\nPLAN_TESTS="%s"\n' \
		"$boot" "$tmo" "$long" "$TIMEOUT_FACTOR" "$*" >"$d/etc/plan"
	{ cat "$initrd"; (cd "$d" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1); } >"$out"
	rm -rf "$d"
}
