#!/usr/bin/env bash
# host/model: the model of the metadata commit protocol (tests/model/run,
# docs/commit-model.md) at its quick depth: the model holds, every mutant
# is caught, the known violation is still found, and the C functions it
# stands for are the ones it was written from.
#   tests/host/model.sh WORKDIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v spin >/dev/null || { echo "FAIL: spin is not installed (tests/vm/deps.sh)"; exit 1; }
out=$("$here/../model/run" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || { echo "FAIL: $(grep -m1 '^FAIL' <<<"$out" || echo "tests/model/run exit $rc")"; exit 1; }
