#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host test of the command lines of every tool and script, run by
# `make -C tools test` after the unit tests:
#   cli.sh BINDIR WORKDIR
# - one exit status table: the same lines in every --help, the same EXIT
#   STATUS table in every man page;
# - one set of short options: a letter means one long option in every
#   --help and man page, and each program's --help and man page list the same;
# - the scripts' usage errors: one line saying what is wrong, then
#   "Try 'PROG --help'.", exit 3; a clonetab that cannot be read, exit 5;
# - the short letters that changed are refused where they went away;
# - every man page (tools/man, scripts/man) renders without a groff warning.
set -u
BIN=$1
TOP=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck disable=SC1091 # ../../tests/tools/selftest-lib.sh: W, ok, bad, expect, out_has
. "$TOP/tests/tools/selftest-lib.sh"

TOOLS=$(sed -n 's/^TOOLS *:= *//p' "$TOP/tools/Makefile")
SCRIPTS="clone-migrate clone-activate"
[ -n "$TOOLS" ] || { echo "FAIL: no TOOLS in tools/Makefile"; exit 1; }

# cmd PROG: how to run PROG (a tool from BINDIR, a script from scripts/,
# never with the machine's clonetab or migration records)
cmd() {
	case $1 in
	clone-migrate) echo "env CLONE_MIGRATE_RUNDIR=$W/run CLONE_MIGRATE_STATEDIR=$W/state bash $TOP/scripts/$1" ;;
	clone-*) echo "env CLONETAB=$W/no-clonetab sh $TOP/scripts/$1" ;;
	*) echo "$BIN/$1" ;;
	esac
}
man_of() {
	case $1 in clone-*) echo "$TOP/scripts/man/$1.8" ;; *) echo "$TOP/tools/man/$1.8" ;; esac
}

# same WHAT GOT WANT: the file GOT is not empty and the same as WANT
same() {
	if [ -s "$2" ] && cmp -s "$2" "$3"; then
		ok "$1"
	else
		bad "$1 (> it, < ${3##*/}):"
		diff "$3" "$2"
	fi
}
# lists WHAT REGEX FILE: a line of FILE matches REGEX
lists() {
	if grep -qE -- "$2" "$3"; then ok "$1"; else bad "$1: no line matches '$2'"; fi
}

# ---- one exit status table
ref=''
for p in $TOOLS $SCRIPTS; do
	# shellcheck disable=SC2046 # the words of the command
	$(cmd "$p") --help >"$W/help.$p" 2>&1
	rc=$?
	if [ $rc = 0 ]; then ok "$p --help: exit 0"; else bad "$p --help: exit $rc"; fi
	sed -n '/^Exit status, the same for every dm-clone tool and script:$/,$p' "$W/help.$p" >"$W/exit.$p"
	# the man page's common table: from the section's start to the first .PP
	sed -n '/^\.SH EXIT STATUS$/,/^\.PP$/p' "$(man_of "$p")" >"$W/man.$p"
	[ -n "$ref" ] || ref=$p
	same "$p --help: the exit status table" "$W/exit.$p" "$W/exit.$ref"
	same "$p(8): the EXIT STATUS table" "$W/man.$p" "$W/man.$ref"
done
for code in 0 1 2 3 4 5 130; do
	lists "--help lists exit status $code" "^  $code " "$W/exit.$ref"
	lists "the man pages list exit status $code" "^\.B $code\$" "$W/man.$ref"
done

# ---- one set of short options: "PROG LETTER LONG" lines, from --help and man
for p in $TOOLS $SCRIPTS; do
	grep -oE '(^|[ /,])-[A-Za-z], --[a-z][a-z-]*' "$W/help.$p" |
		sed -E "s/^[ \\/,]?-(.), --(.*)/$p \\1 \\2/" | sort -u >"$W/opts.help.$p"
	# shellcheck disable=SC1003 # a backslash, not an escaped quote
	grep -oE '\\-[A-Za-z] ", " \\-\\-[a-z][a-z\\-]*' "$(man_of "$p")" | tr -d '\\' |
		sed -E "s/^-(.) \", \" --(.*)/$p \\1 \\2/" | sort -u >"$W/opts.man.$p"
	same "$p: $p(8) lists the short options of --help" "$W/opts.man.$p" "$W/opts.help.$p"
done
cat "$W"/opts.help.* "$W"/opts.man.* | sort -u >"$W/opts"
clash=$(awk '{ print $2, $3 }' "$W/opts" | sort -u | awk '{ n[$1]++ } n[$1] == 2 { print $1 }')
if [ -z "$clash" ]; then
	ok "every short option means one long option everywhere"
else
	for l in $clash; do bad "-$l means several options: $(awk -v l="$l" '$2 == l { printf "%s --%s; ", $1, $3 }' "$W/opts")"; done
fi
# every short option documented is one the program takes
while read -r p l long; do
	# shellcheck disable=SC2046 # the words of the command
	$(cmd "$p") "-$l" </dev/null >"$W/out" 2>&1
	if grep -q -e "invalid option -- '$l'" -e "Unknown option -$l\." "$W/out"; then
		bad "$p: -$l (--$long) is documented, but refused"
	else
		ok "$p takes -$l"
	fi
done <"$W/opts"
# the letters thin-provisioning-tools and lvm2 use, where ours have them
for want in "i input" "o output" "q quiet" "v verbose" "f format" "r repair" "R region-size" \
	"y yes" "t test" "b background" "h help" "V version"; do
	l=${want%% *} long=${want#* }
	got=$(awk -v l="$l" '$2 == l { print $3; exit }' "$W/opts")
	if [ "$got" = "$long" ]; then ok "-$l is --$long"; else bad "-$l is --${got:-nothing}, want --$long"; fi
done

# ---- usage errors: what is wrong in one line, then where help is; exit 3
# usage PROG WHAT ARGS...: PROG ARGS is a usage error whose line says WHAT
usage() {
	local p=$1 what=$2
	shift 2
	# shellcheck disable=SC2046 # the words of the command
	$(cmd "$p") "$@" >"$W/out" 2>"$W/err"
	local rc=$?
	if [ $rc = 3 ] && [ ! -s "$W/out" ] && [ "$(wc -l <"$W/err")" = 2 ] &&
		grep -q -- "$what" "$W/err" && [ "$(tail -n 1 "$W/err" | sed 's/^ *//')" = "Try '$p --help'." ]; then
		ok "$p $*: a usage error"
	else
		bad "$p $*: exit $rc, want 3 and '$what', then Try '$p --help'.:"
		cat "$W/out" "$W/err"
	fi
}
usage clone-migrate "Unknown option -x" -x
usage clone-migrate "Unknown option -r" -r 64k mig /dev/null
usage clone-migrate "Unknown option -i" -i 2 mig /dev/null
usage clone-migrate "Unknown option -f" -f mig /dev/null
usage clone-migrate "needs an argument" --region-size
usage clone-migrate "Invalid region size 3k" -R 3k mig /dev/null
usage clone-migrate "works only with --status" --json
usage clone-activate "Unknown option -x" -x
usage clone-activate "needs an argument" -c
usage clone-activate "works only with --finish" --wait
usage clone-activate "exclude each other" --status --remove x
usage clone_metadata_size "invalid option -- 'r'" -d 1G -r 8
usage clone_check "unexpected argument" a b
usage clone_dump "no device or file given"

# ---- --format-version: 1 and 2 are taken, anything else is a usage error
for t in clone_restore clone_convert clone_metadata_size; do
	for v in 0 3 x 1x ''; do
		usage "$t" "format version '$v': these tools write versions 1 to 2" --format-version "$v"
	done
done
for v in '' 1 2; do
	blocks=1548	# version 2, the default: 2 + 512 ring blocks + 2 * 517
	[ "$v" = 1 ] && blocks=1036
	# shellcheck disable=SC2086 # no option for the default
	expect 0 "clone_metadata_size ${v:+--format-version $v}: exit 0" \
		"$BIN/clone_metadata_size" -d 1T -R 64k -u blocks ${v:+--format-version $v}
	out_has "^$blocks\$"
done
printf 'version 1\nregion_size 8\nnr_regions 70000\nrange 0-99\n' >"$W/v.dump"
expect 0 "clone_restore --format-version 2: exit 0" "$BIN/clone_restore" -i "$W/v.dump" -o "$W/v2.img" --format-version 2
out_has "format version 2, a ring of 256 records"
expect 0 "clone_check of version 2 metadata: exit 0" "$BIN/clone_check" "$W/v2.img"
out_has "(format version 2), 100 hydrated (0.1%), 0 records replayed: clean"
expect 3 "clone_convert of version 2 metadata, version 2 by default: exit 3" \
	"$BIN/clone_convert" -i "$W/v2.img" -o "$W/v1.img"
out_has "already in format version 2, the default: nothing to convert (--format-version 1 writes version 1)"
if [ -e "$W/v1.img" ]; then bad "clone_convert to the same version wrote v1.img"; else ok "nothing written"; fi
expect 0 "clone_convert --format-version 1 of version 2 metadata: exit 0" \
	"$BIN/clone_convert" -i "$W/v2.img" -o "$W/v1.img" --format-version 1
expect 0 "clone_dump of the conversion: exit 0" "$BIN/clone_dump" "$W/v1.img"
out_has "^version 1$"
expect 0 "clone_convert of version 1 metadata, to version 2 by default: exit 0" \
	"$BIN/clone_convert" -i "$W/v1.img" -o "$W/v2c.img"
expect 0 "clone_dump of the conversion: exit 0" "$BIN/clone_dump" "$W/v2c.img"
out_has "^version 2$"
expect 3 "clone_convert --format-version 1 of version 1 metadata: exit 3" \
	"$BIN/clone_convert" -i "$W/v1.img" -o "$W/v1b.img" --format-version 1
out_has "already in format version 1"
expect 0 "clone_convert --format-version 2 of version 1 metadata: exit 0" \
	"$BIN/clone_convert" -i "$W/v1.img" -o "$W/v2b.img" --format-version 2
expect 0 "clone_dump of the conversion: exit 0" "$BIN/clone_dump" "$W/v2b.img"
out_has "^version 2$"
# restore: the version the dump names; version 2 onto a device too small for
# its ring: version 1 with a warning unless asked for (then exit 5, the size)
printf 'version 2\nregion_size 8\nnr_regions 70000\nrange 0-99\n' >"$W/v2.dump"
rm -f "$W/v1r.img"
expect 0 "clone_restore of a version 1 dump: exit 0" "$BIN/clone_restore" -i "$W/v.dump" -o "$W/v1r.img"
expect 0 "clone_dump of the restore: exit 0" "$BIN/clone_dump" "$W/v1r.img"
out_has "^version 1$"
truncate -s 32768 "$W/small.img"	# 8 blocks: version 1's 2 + 2 * 3, not version 2's 24
expect 0 "clone_restore of a version 2 dump onto a device too small for version 2: exit 0" \
	"$BIN/clone_restore" -i "$W/v2.dump" -o "$W/small.img"
out_has "too small for format version 2 .*writing format version 1"
expect 0 "clone_dump of the restore: exit 0" "$BIN/clone_dump" "$W/small.img"
out_has "^version 1$"
expect 5 "clone_restore --format-version 2 onto a device too small: exit 5" \
	"$BIN/clone_restore" -i "$W/v2.dump" -o "$W/small.img" --format-version 2
out_has "small.img is too small: 32768 bytes; 70000 regions need 24 blocks"
rm -f "$W/small.img" "$W/v1r.img" "$W/v2c.img"

# ---- what cannot be read or opened: exit 5
mkdir -p "$W/dir"
for c in "clone-activate -c $W/no-such-file" "clone-activate -c $W/dir" "clone-activate --config=$W/dir --status"; do
	# shellcheck disable=SC2046,SC2086 # the words of the command
	expect 5 "$c: exit 5" $(cmd "${c%% *}") ${c#* }
done
# shellcheck disable=SC2046 # the words of the command
expect 5 "clone-migrate --status of an unknown migration: exit 5" $(cmd clone-migrate) --status nosuch
out_has "No migration nosuch"
for t in $TOOLS; do
	[ "$t" = clone_metadata_size ] && continue	# opens nothing
	case $t in clone_check | clone_dump) a="$W/dir" ;; *) a="-i $W/dir -o $W/o.img" ;; esac
	# shellcheck disable=SC2086 # the words of the arguments
	expect 5 "$t $a: exit 5" "$BIN/$t" $a
	out_has "is not a block device or regular file\|cannot read"
done

# ---- every man page, dm-clone(7) too, renders without a groff warning
if command -v groff >/dev/null; then
	for m in "$TOP"/tools/man/*.[1-9] "$TOP"/scripts/man/*.[1-9]; do
		if LC_ALL=C.UTF-8 groff -man -ww -z "$m" >"$W/groff" 2>&1 && [ ! -s "$W/groff" ]; then
			ok "${m#"$TOP"/}: groff -ww: no warning"
		else
			bad "${m#"$TOP"/}: groff -ww warns:"
			cat "$W/groff"
		fi
	done
else
	echo "skip: no groff, the man pages are not rendered"
fi

# shellcheck disable=SC2154 # counted by selftest-lib.sh
echo "tools command-line tests: $pass passed, $failed failed"
[ "$failed" = 0 ]
