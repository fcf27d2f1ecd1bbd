#!/bin/sh
# Regenerate the seed corpus of fuzz_md from the tools in tools/bin.
# Each seed is one mode byte (see fuzz_md.c) followed by an image or a dump.
set -e
cd "$(dirname "$0")"
B=../bin
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# shellcheck disable=SC2059 # the format is the mode byte, as an octal escape
seed() { { printf "\\$(printf %03o "$1")"; cat "$2"; } >"corpus/$3"; }

printf 'version 1\nregion_size 8\nnr_regions 70000\nformat_time 1\nrange 0-99\nrange 32511-32513\nrange 69999\n' >"$T/d70k"
printf 'version 1\nregion_size 2097152\nnr_regions 1\nrange 0\n' >"$T/d1"
$B/clone_restore -q -i "$T/d70k" -o "$T/m70k"
$B/clone_restore -q -i "$T/d1" -o "$T/m1"
mkdir -p corpus
seed 0 "$T/m1" img-1-region
seed 0 "$T/m70k" img-70000-regions
seed 2 "$T/m70k" img-70000-reseal
# copy A of bitmap block 1 damaged; both superblocks damaged (salvage)
cp "$T/m70k" "$T/bad"
printf 'x' | dd of="$T/bad" bs=1 seek=$((3 * 4096 + 100)) conv=notrunc 2>/dev/null
seed 0 "$T/bad" img-damaged-copy
printf 'xx' | dd of="$T/bad" bs=1 seek=200 conv=notrunc 2>/dev/null
printf 'xx' | dd of="$T/bad" bs=1 seek=4296 conv=notrunc 2>/dev/null
seed 4 "$T/bad" img-salvage
# format version 2 with the smallest ring (8 slots): 2 + 16 + 2 blocks
truncate -s $((20 * 4096)) "$T/m2"
$B/clone_restore -q --format-version 2 -i "$T/d1" -o "$T/m2"
seed 0 "$T/m2" img-v2-8-slots
seed 2 "$T/m2" img-v2-8-slots-reseal
for f in text xml json; do
	$B/clone_dump -f $f -o "$T/$f" "$T/m70k"
	seed 1 "$T/$f" dump-$f
done
# both copies of bitmap block 1 damaged: a dump with lost regions
cp "$T/m70k" "$T/lost.img"
printf 'x' | dd of="$T/lost.img" bs=1 seek=$((3 * 4096 + 100)) conv=notrunc 2>/dev/null
printf 'x' | dd of="$T/lost.img" bs=1 seek=$((6 * 4096 + 100)) conv=notrunc 2>/dev/null
$B/clone_dump --repair -f json -o "$T/lost" "$T/lost.img" 2>/dev/null || true
seed 1 "$T/lost" dump-lost-json
# the in-kernel dm-clone's format: images the unit tests build
# (make test first), as they are and resealed
W=${UNIT_WORK:-../../build/tools-md-san/work}
if [ -e "$W/up.img" ]; then
	seed 8 "$W/up.img" upstream-4-ablocks
	seed 8 "$W/up1.img" upstream-leaf-root
	seed 10 "$W/up1.img" upstream-leaf-root-reseal
fi
