# Helpers for tests whose source is a real remote LUN served in the guest
# over its own loopback (the VM has no other network): NBD (Debian's
# nbd-server and nbd-client, the kernel's nbd driver), iSCSI (the kernel's
# LIO target, open-iscsi's initiator), tc netem for a slow, lossy link.
# POSIX sh (busybox ash). Source after clone.sh:
#   . /tests/lib/remote.sh
# The harness runs remote_cleanup after every test: whatever a test left
# (a server, a connection, a session, a qdisc) is gone before the next.

NBD_PORT=10809
NBD_EXPORT=src
# Debian's programs, by path: busybox's sh runs its own applets of the same
# names (a smaller nbd-client, a tc without netem) whatever PATH says.
NBD_CLIENT=/usr/sbin/nbd-client
TC=/usr/sbin/tc

# lo_up: the loopback interface, the only one the guest has
lo_up() {
	ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up ||
		{ fail "cannot bring the loopback interface up"; return 1; }
}

# nbd_serve DEV [rw]: export DEV as $NBD_EXPORT, read-only unless rw;
# returns once a client can list it (allowlist = true lets nbd-client -l ask)
nbd_serve() {
	_ro=true
	[ "${2:-}" = rw ] && _ro=false
	lo_up || return 1
	cat >"$T/nbd.conf" <<-EOF
		[generic]
		allowlist = true
		port = $NBD_PORT
		[$NBD_EXPORT]
		exportname = $1
		readonly = $_ro
	EOF
	nbd-server -C "$T/nbd.conf" >>"$T/nbd-server.log" 2>&1 ||
		{ fail "nbd-server did not start: $(tail -n 3 "$T/nbd-server.log")"; return 1; }
	_end=$(($(now_ms) + 15000))
	until "$NBD_CLIENT" -l 127.0.0.1 "$NBD_PORT" 2>/dev/null | grep -qx "$NBD_EXPORT"; do
		[ "$(now_ms)" -lt $_end ] || { fail "nbd-server does not list $NBD_EXPORT after 15 s"; return 1; }
		sleep 0.2
	done
	log "nbd-server exports $1 as $NBD_EXPORT on 127.0.0.1:$NBD_PORT"
}

# nbd_kill: the server dies (every process of it): I/O on connected nbd
# devices fails from then on
nbd_kill() {
	killall -9 nbd-server 2>/dev/null
	_end=$(($(now_ms) + 10000))
	while pidof nbd-server >/dev/null; do
		[ "$(now_ms)" -lt $_end ] || { fail "nbd-server still runs 10 s after kill -9"; return 1; }
		sleep 0.1
	done
	log "nbd-server killed"
}

# nbd_attach NBDDEV: connect NBDDEV to the export (4 KiB blocks)
nbd_attach() {
	"$NBD_CLIENT" -N "$NBD_EXPORT" 127.0.0.1 "$NBD_PORT" "$1" -b 4096 >"$T/nbd-client.log" 2>&1 ||
		{ fail "nbd-client cannot connect $1: $(tail -n 3 "$T/nbd-client.log")"; return 1; }
	_end=$(($(now_ms) + 10000))
	until [ "$(blockdev --getsz "$1" 2>/dev/null || echo 0)" -gt 0 ]; do
		[ "$(now_ms)" -lt $_end ] || { fail "$1 has no size 10 s after nbd-client"; return 1; }
		sleep 0.1
	done
	log "$1 connected: $(blockdev --getsz "$1") sectors"
}

# nbd_detach NBDDEV: disconnect (also a device whose server died)
nbd_detach() { "$NBD_CLIENT" -d "$1" >/dev/null 2>&1; }

# nbd_connected: the nbd devices with a connection (a pid file in sysfs)
nbd_connected() {
	for _p in /sys/block/nbd*/pid; do
		[ -e "$_p" ] && _d=${_p%/pid} && echo "/dev/${_d##*/}"
	done
}

# remote_map NAME DEV [SECTORS [rw]]: a dm-linear map of DEV's first SECTORS
# (all of it by default), read-only unless rw, as admins stack a LUN (a
# multipath or linear map in front of it); remote_remap NAME DEV2 points it
# at another device, the same length, without touching what sits on top
remote_map() {
	_ro=--readonly
	[ "${4:-}" = rw ] && _ro=
	dmsetup create $_ro "$1" --table "0 ${3:-$(dev_sectors "$2")} linear $2 0" ||
		{ fail "cannot create $1 over $2"; return 1; }
	[ -b "/dev/mapper/$1" ] || dmsetup mknodes "$1"
}
remote_remap() {
	_len=$(dmsetup table "$1" | awk 'NR == 1 { print $2 }')
	dmsetup load --readonly "$1" --table "0 $_len linear $2 0" &&
		dmsetup resume "$1" || { fail "cannot point $1 at $2"; return 1; }
	log "$1 now maps $2"
}

# remote_modules MOD...: load the modules the initramfs keeps for these
# tests (not loaded at boot); skip the test if the kernel has no MOD
remote_modules() {
	[ -r /lib/modules/remote.list ] || { skip "this kernel has no netem or iSCSI modules"; return 1; }
	while read -r _m; do
		insmod "$_m" 2>/dev/null
	done </lib/modules/remote.list
	for _m in "$@"; do
		[ -d "/sys/module/$_m" ] || { fail "module $_m did not load"; return 1; }
	done
}

# ---- while the source is gone

# timed_eio WHAT DD-ARGS...: the dd fails with EIO, and within 5 s
timed_eio() {
	_what=$1
	shift
	_t=$(now_ms)
	if dd "$@" >/dev/null 2>"$T/dd"; then
		fail "$_what succeeded"
		return 1
	fi
	_t=$(($(now_ms) - _t))
	grep -qi 'I/O error\|Input/output' "$T/dd" || { fail "$_what: not EIO: $(cat "$T/dd")"; return 1; }
	check_cmp "$_what: EIO after (ms; at once: never waits for the source)" "$_t" -lt 5000
}

# verify_committed CLONE MAP REG: every region the metadata device ($META)
# calls hydrated reads right on CLONE (REG sectors a region): with the
# source gone, they come from the destination
verify_committed() {
	cverify meta "$META" -l >"$T/meta" || { fail "cverify meta"; return 1; }
	_n=0 _bpr=$(($3 / 8))
	for _rg in $(sed -n 's/^ranges=//p' "$T/meta"); do
		_a=${_rg%-*} _b=${_rg#*-}
		verify "$1" "$2" -r "$((_a * _bpr)):$(((_b + 1) * _bpr))" >/dev/null || return 1
		_n=$((_n + _b + 1 - _a))
	done
	check_cmp "regions hydrated on disk, read right with the source gone" "$_n" -gt 0
}

# netem ARGS...: add a netem qdisc to lo (e.g. delay 20ms 5ms loss 1%);
# netem_off removes it
netem() {
	remote_modules sch_netem || return 1
	"$TC" qdisc add dev lo root netem "$@" || { fail "tc qdisc add dev lo root netem $*"; return 1; }
	log "lo: netem $*"
}
netem_off() { "$TC" qdisc del dev lo root 2>/dev/null; }


# ---- iSCSI: the kernel's LIO target over configfs, open-iscsi's initiator

ISCSI_IQN=iqn.2026-12.org.dm-clone.test:src
ISCSI_PORTAL=127.0.0.1:3260
LIO=/sys/kernel/config/target
ISCSI_TPG=$LIO/iscsi/$ISCSI_IQN/tpgt_1
ISCSI_BS=$LIO/core/iblock_0/src

# iscsi_target DEV: export DEV read-only as LUN 0 of $ISCSI_IQN on
# $ISCSI_PORTAL, no authentication, any initiator
iscsi_target() {
	remote_modules target_core_iblock iscsi_target_mod || return 1
	lo_up || return 1
	grep -q ' /sys/kernel/config ' /proc/mounts || mount -t configfs configfs /sys/kernel/config ||
		{ fail "cannot mount configfs"; return 1; }
	{
		mkdir -p "$ISCSI_BS" &&
		echo "udev_path=$1,readonly=1" >"$ISCSI_BS/control" &&
		echo 1 >"$ISCSI_BS/enable" &&
		mkdir -p "$ISCSI_TPG/lun/lun_0" &&
		ln -s "$ISCSI_BS" "$ISCSI_TPG/lun/lun_0/src" &&
		mkdir "$ISCSI_TPG/np/$ISCSI_PORTAL" &&
		echo 0 >"$ISCSI_TPG/attrib/authentication" &&
		echo 1 >"$ISCSI_TPG/attrib/generate_node_acls" &&
		echo 1 >"$ISCSI_TPG/attrib/demo_mode_write_protect" &&
		echo 1 >"$ISCSI_TPG/enable"
	} || { fail "cannot configure the LIO target in configfs"; return 1; }
	log "LIO exports $1 read-only as $ISCSI_IQN lun 0 on $ISCSI_PORTAL"
}

# iscsi_tpg 0|1: take the target portal group down (the LUN is gone for the
# initiator) or back up
iscsi_tpg() {
	echo "$1" >"$ISCSI_TPG/enable" || { fail "cannot set the TPG's enable to $1"; return 1; }
	log "iSCSI target portal group enable=$1"
}

# iscsi_login SECS: start iscsid (session replacement timeout SECS: I/O fails
# that long after the target went away) and log in; ISCSI_DEV is the disk
iscsi_login() {
	remote_modules iscsi_tcp sd_mod || return 1
	mkdir -p /etc/iscsi /var/lib/iscsi /run/lock/iscsi
	# iscsid checks its peer's user name: root must have a passwd entry
	grep -q '^root:' /etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/root:/bin/sh' >>/etc/passwd
	echo "InitiatorName=iqn.2026-12.org.dm-clone.test:initiator" >/etc/iscsi/initiatorname.iscsi
	cat >/etc/iscsi/iscsid.conf <<-EOF
		iscsid.startup = /usr/sbin/iscsid
		node.startup = manual
		node.session.timeo.replacement_timeout = $1
		node.conn[0].timeo.login_timeout = 5
		node.conn[0].timeo.noop_out_interval = 2
		node.conn[0].timeo.noop_out_timeout = 2
		node.session.initial_login_retry_max = 2
	EOF
	pidof iscsid >/dev/null || /usr/sbin/iscsid || { fail "iscsid did not start"; return 1; }
	_end=$(($(now_ms) + 15000))
	until /usr/sbin/iscsiadm -m discovery -t sendtargets -p "$ISCSI_PORTAL" >"$T/disc" 2>&1; do
		[ "$(now_ms)" -lt $_end ] || { fail "iSCSI discovery: $(tail -n 2 "$T/disc")"; return 1; }
		sleep 0.5
	done
	/usr/sbin/iscsiadm -m node -T "$ISCSI_IQN" -p "$ISCSI_PORTAL" --login >"$T/login" 2>&1 ||
		{ fail "iSCSI login: $(tail -n 2 "$T/login")"; return 1; }
	ISCSI_DEV=
	_end=$(($(now_ms) + 15000))
	while [ -z "$ISCSI_DEV" ]; do
		for _b in /sys/class/iscsi_session/session*/device/target*/*/block/*; do
			[ -e "$_b" ] && ISCSI_DEV=/dev/${_b##*/}
		done
		[ -n "$ISCSI_DEV" ] && [ -b "$ISCSI_DEV" ] && [ "$(dev_sectors "$ISCSI_DEV" 2>/dev/null || echo 0)" -gt 0 ] && break
		ISCSI_DEV=
		[ "$(now_ms)" -lt $_end ] || { fail "no disk 15 s after the iSCSI login"; return 1; }
		sleep 0.2
	done
	log "iSCSI session up: $ISCSI_DEV, $(dev_sectors "$ISCSI_DEV") sectors"
}

# iscsi_cleanup: log out, stop iscsid, take the target apart
iscsi_cleanup() {
	/usr/sbin/iscsiadm -m node -U all >/dev/null 2>&1
	killall iscsid 2>/dev/null
	[ -d "$ISCSI_TPG" ] || return 0
	echo 0 >"$ISCSI_TPG/enable" 2>/dev/null
	rm -f "$ISCSI_TPG/lun/lun_0/src"
	rmdir "$ISCSI_TPG/lun/lun_0" "$ISCSI_TPG/np/$ISCSI_PORTAL" "$ISCSI_TPG" \
		"$LIO/iscsi/$ISCSI_IQN" "$ISCSI_BS" "${ISCSI_BS%/*}" 2>/dev/null
	return 0
}

# http_start FILE: busybox httpd serving $WWW on 127.0.0.1:$HTTP_PORT (the
# guest's loopback) in the background, $HTTPD its pid, once it serves FILE
# (a path under $WWW); http_stop ends it.
http_start() {
	busybox httpd -f -p 127.0.0.1:$HTTP_PORT -h "$WWW" >>"$T/httpd.log" 2>&1 &
	HTTPD=$!
	_end=$(($(now_ms) + 10000))
	until wget -q -O /dev/null "http://127.0.0.1:$HTTP_PORT/$1" 2>/dev/null; do
		[ "$(now_ms)" -lt $_end ] || { fail "httpd does not serve $1 after 10 s"; return 1; }
		sleep 0.2
	done
}
http_stop() { kill "$HTTPD" 2>/dev/null; wait "$HTTPD" 2>/dev/null; HTTPD=; }

# remote_cleanup: no nbd-server, no connected nbd device, no iSCSI session
# or target, no qdisc; says what it stopped
remote_cleanup() {
	if pidof nbd-server >/dev/null || [ -n "$(nbd_connected)" ]; then
		echo "cleanup: stopping nbd-server, disconnecting nbd devices"
		killall -9 nbd-server 2>/dev/null
		for _d in $(nbd_connected); do
			nbd_detach "$_d"
		done
	fi
	if pidof iscsid >/dev/null || [ -d "$ISCSI_TPG" ]; then
		echo "cleanup: logging out of iSCSI, removing the target"
		iscsi_cleanup
	fi
	[ -x "$TC" ] && "$TC" qdisc del dev lo root 2>/dev/null
	return 0
}
