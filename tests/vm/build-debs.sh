#!/usr/bin/env bash
# Build the .debs (`make deb`) once for the tree as it is, and print the
# directory that holds them:
#   tests/vm/build-debs.sh
# The packages are cached in build/debs/KEY, KEY the hash of every file
# `make deb` takes (the files git knows, modified or not, and the new ones
# it does not ignore) but the tests, which go into no package; a tree that
# is not a git work tree is built afresh each time. Runs that need them at
# once (host/deb, a boot test installing them) wait for each other on a
# lock and share one build. The log of the
# build is DIR/make-deb.log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cache=$BUILD/debs
mkdir -p "$cache"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	key=$(cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
		grep -zv '^tests/' | xargs -0 sha256sum 2>/dev/null | sha256sum | cut -c1-16)
else
	key=tree-$$
fi
out=$cache/$key

cache_take "$cache" "$key"
t0=$SECONDS
if ! make -s -C "$REPO" deb DEB_DIR="$out" >"$cache/make-deb.log" 2>&1; then
	tail -n 30 "$cache/make-deb.log" >&2
	die "make deb failed (log: $cache/make-deb.log)"
fi
echo "make deb: $((SECONDS - t0))s" >>"$cache/make-deb.log"
mv "$cache/make-deb.log" "$out/"
touch "$out/done"
echo "$out"
