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
expect 0 "metadata image" "$DF" image "$W/img" $LEN 8
expect 0 "every mutation, every value, 500 random ones" "$DF" meta -D -m "$W/img" -l $LEN -r 8 -a -n 500
out_has "tried=[0-9]* failed=0"
# a clone with one bitmap block and a last block partly used
expect 0 "metadata image, 1000 regions of 64 sectors" "$DF" image "$W/img2" 64000 64
expect 0 "mutations of it" "$DF" meta -D -m "$W/img2" -l 64000 -r 64 -n 200
out_has "tried=[0-9]* failed=0"
# a mutation can be written out and looked at
expect 0 "one case to a file" "$DF" meta -D -m "$W/img" -l $LEN -r 8 -W "superblock both copies: version" -O "$W/case"
cmp -s "$W/img" "$W/case" && bad "the case equals the image" || ok "the case differs from the image"
expect 2 "usage error" "$DF" meta -D -l 8

echo "selftest-dmfuzz: $pass passed, $failed failed"
[ "$failed" = 0 ]
