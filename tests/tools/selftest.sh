#!/bin/sh
# Host self-test of cverify on regular files: every verb, and that damage is caught.
#   selftest.sh CVERIFY WORKDIR
set -u
CV=$1
. "$(dirname "$0")/selftest-lib.sh"

D=$W/dev
truncate -s 16M "$D"

# fill, verify, writes, verify
expect 0 "fill" "$CV" fill "$D" "$W/map" 7
expect 0 "verify fresh fill" "$CV" verify "$D" "$W/map"
out_has "4096 checked, 0 not checked (any), 0 mismatches"
expect 0 "random writes" "$CV" write "$D" "$W/map" -n 500 -r 100:900 -f 50
expect 0 "aligned 16-block writes" "$CV" write "$D" "$W/map" -n 20 -b 16 -a -r 1024:2048
expect 0 "sequential 2-block writes" "$CV" write "$D" "$W/map" -n 30 -b 2 -S -r 3000:3100
expect 0 "O_DSYNC writes" "$CV" write "$D" "$W/map" -n 20 -D -r 2000:2100
expect 0 "verify after writes" "$CV" verify "$D" "$W/map"
expect 0 "verify a range" "$CV" verify "$D" "$W/map" -r 100:900
cp "$W/map" "$W/map0"

# a block that missed its last write is caught and described
dd if="$D" of="$W/blk" bs=4096 skip=5 count=1 2>/dev/null
dd if="$W/blk" of="$D" bs=4096 seek=3050 count=1 conv=notrunc 2>/dev/null
expect 1 "misplaced block caught" "$CV" verify "$D" "$W/map"
out_has "MISMATCH block 3050"
out_has "found gen 0 of block 5 seed 7"
dd if=/dev/zero of="$D" bs=4096 seek=3051 count=1 conv=notrunc 2>/dev/null
expect 1 "zeroed block caught" "$CV" verify "$D" "$W/map"
out_has "found zeros"
printf 'x' | dd of="$D" bs=1 seek=$((3052 * 4096 + 100)) conv=notrunc 2>/dev/null
expect 1 "one flipped byte caught" "$CV" verify "$D" "$W/map"
out_has "body damaged"
expect 0 "mark any" "$CV" mark "$W/map" 3050:3053 any
expect 0 "damaged blocks marked any" "$CV" verify "$D" "$W/map"
out_has "3 not checked (any)"
dd if=/dev/zero of="$D" bs=4096 seek=4000 count=4 conv=notrunc 2>/dev/null
expect 0 "mark zero" "$CV" mark "$W/map" 4000:4004 zero
expect 0 "zeros expected" "$CV" verify "$D" "$W/map"
expect 1 "zeros expected but data found" "$CV" verify "$D" "$W/map0" -r 4000:4004
expect 0 "mkmap" "$CV" mkmap "$W/m2" 7 4096
expect 1 "mkmap: gen 0 everywhere mismatches written blocks" "$CV" verify "$D" "$W/m2"
expect 2 "write outside the device" "$CV" write "$D" "$W/map" -r 4096:5000
expect 2 "unknown verb" "$CV" frob
expect 2 "missing map" "$CV" verify "$D" "$W/nomap"

# lanes: concurrent writers on disjoint chunks of the same range, merged
"$CV" fill "$D" "$W/base" 7 >/dev/null
for i in 0 1 2; do cp "$W/base" "$W/lane$i"; done
"$CV" write "$D" "$W/lane0" -n 300 -b 2 -L 0/3 -r 0:600 -s 1 >/dev/null &
"$CV" write "$D" "$W/lane1" -n 300 -b 2 -L 1/3 -r 0:600 -s 2 >/dev/null &
"$CV" write "$D" "$W/lane2" -n 300 -b 2 -L 2/3 -r 0:600 -s 3 >/dev/null &
wait
expect 0 "merge three lanes" "$CV" merge "$W/base" "$W/lanes" "$W/lane0" "$W/lane1" "$W/lane2"
expect 0 "verify the merged lanes" "$CV" verify "$D" "$W/lanes"
expect 1 "one lane's map alone misses the others' writes" "$CV" verify "$D" "$W/lane0" -r 0:600
expect 2 "merge: a block changed in two maps" "$CV" merge "$W/base" "$W/bad" "$W/lane0" "$W/lane0"
out_has "changed in both"
expect 2 "write -L: no such lane" "$CV" write "$D" "$W/lane0" -b 2 -L 3/3
expect 2 "write -L with -S" "$CV" write "$D" "$W/lane0" -L 0/2 -S

# crash journal: complete run, then a run cut after batch 5
J=$W/journal
truncate -s 1M "$J"
"$CV" fill "$D" "$W/map" 7 >/dev/null
expect 0 "crashwrite" "$CV" crashwrite "$D" "$J" 7 -r 0:2000 -k 32 -n 20 -j 4
expect 0 "crashcheck after a complete run" "$CV" crashcheck "$D" "$J"
out_has "durable_batches=20"
"$CV" fill "$D" "$W/map" 9 >/dev/null
expect 0 "crashwrite at a journal offset" "$CV" crashwrite "$D" "$J@8192" 9 -r 0:512 -k 8 -n 6 -j 2
# forget records 4 and 5: batch 4 counts as in flight, batch 5 must not
# have happened: its blocks must hold batch <= 4 content
dd if=/dev/zero of="$J" bs=4096 seek=$((2 + 5)) count=2 conv=notrunc 2>/dev/null
expect 1 "batch past the in-flight one is caught" "$CV" crashcheck "$D" "$J@8192"
"$CV" fill "$D" "$W/map" 9 >/dev/null
"$CV" crashwrite "$D" "$J@8192" 9 -r 0:512 -k 8 -n 5 -j 2 >/dev/null
dd if=/dev/zero of="$J" bs=4096 seek=$((2 + 5)) count=1 conv=notrunc 2>/dev/null
expect 0 "in-flight batch with new content accepted" "$CV" crashcheck "$D" "$J@8192"
out_has "durable_batches=4"
out_has "8 blocks new, 0 old"
dd if=/dev/zero of="$J" bs=4096 seek=$((2 + 4)) count=1 conv=notrunc 2>/dev/null
expect 1 "lost durable batch caught" "$CV" crashcheck "$D" "$J@8192"

# metadata: build a minimal valid image with metaset, then damage it
M=$W/meta
truncate -s 64K "$M"
hdr() { # BLOCK KIND
	"$CV" metaset "$M" "$1" 4 4 "$2" && "$CV" metaset "$M" "$1" 8 8 "$1" &&
	"$CV" metaset "$M" "$1" 16 8 0x1234
}
for b in 0 1; do
	hdr $b 0x52505553
	"$CV" metaset "$M" $b 32 8 0x656e6f6c632d6d64  # "dm-clone"
	"$CV" metaset "$M" $b 40 4 1
	"$CV" metaset "$M" $b 48 8 8
	"$CV" metaset "$M" $b 56 8 40000
	"$CV" metaset "$M" $b 64 8 2
	"$CV" metaset "$M" $b 72 8 2
	"$CV" metaset "$M" $b 80 8 4
	"$CV" metaset "$M" $b 88 4 4096
	"$CV" metaset "$M" $b 92 4 32512
done
hdr 2 0x50414d42; "$CV" metaset "$M" 2 32 1 0x0b       # regions 0,1,3
"$CV" metaset "$M" 2 28 4 0
hdr 3 0x50414d42; "$CV" metaset "$M" 3 24 4 1; "$CV" metaset "$M" 3 32 1 0x01  # region 32512
hdr 4 0x50414d42; "$CV" metaset "$M" 4 28 4 1; "$CV" metaset "$M" 4 32 1 0x03  # regions 0,1
"$CV" metaset "$M" 4 36 1 0x80   # region 39 in copy B only
expect 0 "meta of a valid image" "$CV" meta "$M"
out_has "region_size=8"
out_has "regions=40000"
out_has "used_blocks=6"
out_has "hydrated_a=4"
out_has "hydrated_b=3"
out_has "hydrated=5"
expect 0 "meta -l" "$CV" meta "$M" -l
out_has "ranges=0-1 3 39 32512"
# in its checksum: a body changed under a good checksum would disagree with copy 0
printf 'x' | dd of="$M" bs=1 seek=$((4096 + 1)) conv=notrunc 2>/dev/null
expect 1 "damaged superblock copy reported" "$CV" meta "$M"
out_has "sb1=invalid"
out_has "hydrated=5"
"$CV" metacrc "$M" 1
expect 0 "metacrc repairs the checksum" "$CV" meta "$M"
"$CV" metaset "$M" 1 96 8 5
expect 1 "superblock copies that differ (version 1) reported" "$CV" meta "$M"
out_has "error=superblock copies 0 and 1 disagree"
"$CV" metaset "$M" 1 96 8 0
expect 0 "superblock copies that agree again" "$CV" meta "$M"
out_has "sb_used=0"
printf 'x' | dd of="$M" bs=1 seek=$((2 * 4096 + 40)) conv=notrunc 2>/dev/null
expect 1 "damaged bitmap copy reported" "$CV" meta "$M"
out_has "invalid_a=1"
out_has "hydrated=4"
dd if=/dev/zero of="$M" bs=4096 count=2 conv=notrunc 2>/dev/null
expect 1 "no superblock" "$CV" meta "$M"
out_has "no valid superblock"

# version 2, a ring of 8 slots (blocks 2-17), bitmap block k copy c at 18 + 2k + c:
# a grow cut short leaves superblock copies that differ in the geometry
M=$W/meta2
truncate -s 96K "$M"
hdr2() { # BLOCK KIND INDEX COPY
	hdr "$1" "$2" && "$CV" metaset "$M" "$1" 24 4 "$3" && "$CV" metaset "$M" "$1" 28 4 "$4"
}
# sbgeo COPY REGIONS BITMAP_BLOCKS CHECKPOINT
sbgeo() {
	"$CV" metaset "$M" "$1" 56 8 "$2" && "$CV" metaset "$M" "$1" 64 8 "$3" &&
	"$CV" metaset "$M" "$1" 104 8 "$4"
}
for b in 0 1; do
	hdr2 $b 0x52505553 0 $b
	"$CV" metaset "$M" $b 32 8 0x656e6f6c632d6d64  # "dm-clone"
	"$CV" metaset "$M" $b 40 4 2
	"$CV" metaset "$M" $b 48 8 8
	"$CV" metaset "$M" $b 72 8 18
	"$CV" metaset "$M" $b 80 8 19
	"$CV" metaset "$M" $b 88 4 4096
	"$CV" metaset "$M" $b 92 4 32512
	"$CV" metaset "$M" $b 112 8 2
	"$CV" metaset "$M" $b 120 4 8
	sbgeo $b 40000 2 0
done
hdr2 18 0x50414d42 0 0; "$CV" metaset "$M" 18 32 1 0x0b   # regions 0,1,3
hdr2 19 0x50414d42 0 1; "$CV" metaset "$M" 19 32 1 0x0b
hdr2 20 0x50414d42 1 0; hdr2 21 0x50414d42 1 1
expect 0 "meta of a version 2 image" "$CV" meta "$M"
out_has "^sb_used=0$"
out_has "^regions=40000$"
out_has "^used_blocks=22$"
out_has "^hydrated=3$"
# the grow: bitmap block 2 (regions 65024-69999; 69999 hydrated), then copy 1
hdr2 22 0x50414d42 2 0; "$CV" metaset "$M" 22 $((32 + 4975 / 8)) 1 0x80
hdr2 23 0x50414d42 2 1; "$CV" metaset "$M" 23 $((32 + 4975 / 8)) 1 0x80
sbgeo 1 70000 3 0
expect 0 "copy 1 grown, the same checkpoint: the grown copy 1 used" "$CV" meta "$M"
out_has "^sb_used=1$"
out_has "^regions=70000$"
out_has "^bitmap_blocks=3$"
out_has "^hydrated=4$"
out_has "^note=superblock copies 0 and 1 describe 40000 and 70000 regions (a grow cut short): using copy 1$"
sbgeo 0 70000 2 0
expect 1 "one region count, bitmap block counts apart: the copies disagree" "$CV" meta "$M"
out_has "^error=superblock copies 0 and 1 disagree$"
sbgeo 0 40000 2 0
sbgeo 1 70000 3 4
expect 0 "copy 1 grown, a later checkpoint: copy 1 used" "$CV" meta "$M"
out_has "^sb_used=1$"
out_has "^regions=70000$"
out_has "^bitmap_blocks=3$"
out_has "^used_blocks=24$"
out_has "^checkpoint=4$"
out_has "^hydrated=4$"
sbgeo 0 70000 3 4
expect 0 "grown in both copies, the same checkpoint" "$CV" meta "$M"
out_has "^sb_used=0$"
out_has "^regions=70000$"
sbgeo 0 40000 2 6
expect 1 "copy 1 grown, an older checkpoint: the copies disagree" "$CV" meta "$M"
out_has "^error=superblock copies 0 and 1 disagree$"
sbgeo 0 40000 2 4; "$CV" metaset "$M" 1 96 8 5
expect 1 "copy 1 grown, and another field apart: the copies disagree" "$CV" meta "$M"
out_has "^error=superblock copies 0 and 1 disagree$"

# dsync and expect: one block in place, never past the end of the file
F=$W/file
truncate -s 64K "$F"
expect 0 "dsync one block" "$CV" dsync "$F" 3 7 9
expect 0 "expect finds it" "$CV" expect "$F" 3 7 9
out_has "block 3: ok, gen 9 of block 3 seed 7"
expect 1 "expect another generation" "$CV" expect "$F" 3 7 8
out_has "MISMATCH"
expect 1 "expect an untouched block" "$CV" expect "$F" 2 7 9
out_has "MISMATCH, zeros"
expect 2 "dsync past the end" "$CV" dsync "$F" 16 7 9
[ "$(wc -c <"$F")" = 65536 ] && ok "dsync did not grow the file" || bad "dsync grew the file"

# jcommit: the newest jbd2 commit block of a window of a journal
J=$W/journal
truncate -s 4M "$J"
jblk() { printf "$2" | dd of="$J" bs=1 seek=$(($1 * 4096)) conv=notrunc 2>/dev/null; }
jblk 1 '\300\073\071\230\000\000\000\001\000\000\000\005'	# descriptor, seq 5
jblk 4 '\300\073\071\230\000\000\000\002\000\000\000\005'	# commit, seq 5
jblk 9 '\300\073\071\230\000\000\000\002\000\000\000\006'	# commit, seq 6
jblk 12 '\300\073\071\230\000\000\000\002\377\377\377\377'	# commit, seq 2^32-1 (older)
expect 0 "jcommit finds the newest commit" "$CV" jcommit "$J" 0 1024 1
out_has "^9 6$"
expect 0 "jcommit from past it" "$CV" jcommit "$J" 0 1024 5
out_has "^9 6$"
expect 1 "jcommit: none in the window" "$CV" jcommit "$J" 0 1024 13
expect 0 "jcommit at an offset" "$CV" jcommit "$J" 4 100 0
out_has "^5 6$"
expect 0 "jcommit: a window of one commit" "$CV" jcommit "$J" 4 5 0
out_has "^0 5$"

# readcheck: a reader that checks what it reads
R=$W/rdev
truncate -s 4M "$R"
"$CV" fill "$R" "$W/rmap" 5 >/dev/null
expect 0 "readcheck on the pattern" "$CV" readcheck "$R" 5 -r 0:1024 -t 1
out_has "0 bad"
expect 1 "readcheck: another seed" "$CV" readcheck "$R" 6 -r 0:16 -t 1
out_has "not this block's data"
dd if="$R" of="$R" bs=4096 skip=3 seek=9 count=1 conv=notrunc 2>/dev/null
expect 1 "readcheck: a misplaced block" "$CV" readcheck "$R" 5 -r 0:16 -t 1
out_has "BAD READ block 9: not this block's data (found gen 0 of block 3 seed 5)"
dd if=/dev/zero of="$R" bs=4096 seek=9 count=1 conv=notrunc 2>/dev/null
expect 1 "readcheck: zeros" "$CV" readcheck "$R" 5 -r 0:16 -t 1
expect 0 "readcheck: zeros in a -z range" "$CV" readcheck "$R" 5 -r 0:16 -t 1 -z 8:10
# a block that goes back to an older generation while it is read
truncate -s 64K "$W/g"
"$CV" dsync "$W/g" 12 5 7 && dd if="$W/g" of="$W/g7" bs=4096 skip=12 count=1 2>/dev/null
"$CV" dsync "$W/g" 12 5 2 && dd if="$W/g" of="$W/g2" bs=4096 skip=12 count=1 2>/dev/null
dd if="$W/g7" of="$R" bs=4096 seek=12 count=1 conv=notrunc 2>/dev/null
( i=0; while [ $i -lt 400 ]; do
	dd if="$W/g2" of="$R" bs=4096 seek=12 count=1 conv=notrunc 2>/dev/null
	dd if="$W/g7" of="$R" bs=4096 seek=12 count=1 conv=notrunc 2>/dev/null
	i=$((i + 1)); done ) &
expect 1 "readcheck: a generation that goes back" "$CV" readcheck "$R" 5 -r 12:13 -t 2
out_has "older than an earlier read"
wait

echo "cverify self-test: $pass passed, $failed failed"
[ "$failed" = 0 ]
