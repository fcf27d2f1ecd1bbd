#!/bin/sh
# Host self-test of dmfuzz (no device-mapper needed): its models of the
# kernel's argument splitting, number parsing, table and message rules and
# its generators, then every metadata mutation judged against the metadata
# tools' reader on an image the tools wrote.
#   selftest-dmfuzz.sh DMFUZZ WORKDIR
set -u
DF=$1
. "$(dirname "$0")/selftest-lib.sh"

expect 0 "models and generators" "$DF" selftest
out_has "selftest: [0-9]* passed, 0 failed"

LEN=262144	# 32768 regions of 8 sectors: 2 bitmap blocks per copy
# the image in version 1 (--format-version 1): the version 1 cases' base as is
expect 0 "metadata image, format version 1" "$DF" image "$W/img" $LEN 8 1
expect 0 "every mutation, every value, 500 random ones" "$DF" meta -D -m "$W/img" -l $LEN -r 8 -a -n 500
out_has "tried=[0-9]* failed=0"
if grep -q "base:" "$W/out"; then bad "a version 1 image made a base of its own"; cat "$W/out"; else ok "the version 1 image is the base"; fi
# the image as a new format gets it (version 2, a ring of 256 slots): the
# version 1 cases on a base written from its state
expect 0 "metadata image, the default format version" "$DF" image "$W/imgd" $LEN 8
expect 0 "version 1 cases on a version 2 image" "$DF" meta -D -m "$W/imgd" -l $LEN -r 8 -n 200
out_has "version 1 base: 6 blocks"
out_has "tried=[0-9]* failed=0"
expect 0 "version 2 cases on a version 2 image" "$DF" meta -D -m "$W/imgd" -l $LEN -r 8 -F 2 -n 200
out_has "version 2 base: 8 ring slots"
out_has "tried=[0-9]* failed=0"
expect 2 "an image in an unknown format version" "$DF" image "$W/imgx" $LEN 8 3
# a clone with one bitmap block and a last block partly used
expect 0 "metadata image, 1000 regions of 64 sectors" "$DF" image "$W/img2" 64000 64 1
expect 0 "mutations of it" "$DF" meta -D -m "$W/img2" -l 64000 -r 64 -n 200
out_has "tried=[0-9]* failed=0"
# a mutation can be written out and looked at
expect 0 "one case to a file" "$DF" meta -D -m "$W/img" -l $LEN -r 8 -W "superblock both copies: version" -O "$W/case"
cmp -s "$W/img" "$W/case" && bad "the case equals the image" || ok "the case differs from the image"
expect 2 "usage error" "$DF" meta -D -l 8

# format version 2 (-F 2): the base rewritten as version 2 from the image's
# state, and every version 2 case judged against the tools' reader too
expect 0 "version 2: every case, every value, 500 random ring mutations" "$DF" meta -D -m "$W/img" -l $LEN -r 8 -F 2 -a -n 500
out_has "version 2 base: 8 ring slots"
out_has "tried=[0-9]* failed=0"
expect 0 "version 2, 1000 regions of 64 sectors" "$DF" meta -D -m "$W/img2" -l 64000 -r 64 -F 2 -n 200
out_has "tried=[0-9]* failed=0"
# a valid record at the checkpoint: loads with more regions than the base
expect 0 "version 2: a planted record" "$DF" meta -D -m "$W/img" -l $LEN -r 8 -F 2 -W "record at P=0 (slot 0): valid in both copies" -v
out_has "loads with the record's regions"
expect 0 "version 2: a gap" "$DF" meta -D -m "$W/img" -l $LEN -r 8 -F 2 -W "a gap" -v
out_has ": refused"
expect 0 "version 2: one case to a file" "$DF" meta -D -m "$W/img" -l $LEN -r 8 -F 2 -W "nr_runs 253" -O "$W/case2"
cmp -s "$W/img" "$W/case2" && bad "the version 2 case equals the image" || ok "the version 2 case differs from the image"
expect 2 "an unknown format version" "$DF" meta -D -m "$W/img" -l $LEN -r 8 -F 3

echo "selftest-dmfuzz: $pass passed, $failed failed"
[ "$failed" = 0 ]
