# Shared by the host tests of the benchmark scripts (bash): source it with
# WORKDIR as $1. It empties WORKDIR and sets W to its absolute path,
# sources tests/bench/figures.sh (the functions under test), and gives
#   check WHAT GOT WANT   equal, or a FAIL line (counted in $failed)
#   finish WHAT           the verdict line and the exit status
work=${1:?usage: $0 WORKDIR}
rm -rf "$work"
mkdir -p "$work"
W=$(cd "$work" && pwd)
# shellcheck disable=SC1091 # ../bench/figures.sh: the functions under test
. "$(dirname "${BASH_SOURCE[0]}")/../bench/figures.sh"

failed=0
check() {
	if [ "$2" = "$3" ]; then
		echo "ok: $1"
	else
		echo "FAIL: $1: expected '$3', got '$2'"
		failed=$((failed + 1))
	fi
}

finish() {
	if [ "$failed" -gt 0 ]; then
		echo "FAIL: $failed check(s) of $1 failed"
		exit 1
	fi
	echo "all checks of $1 passed"
}
