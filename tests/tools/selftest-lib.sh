# Shared by the host self-tests (sourced): a fresh work dir $W (the
# script's 2nd argument) and the pass/fail helpers.
W=$2
rm -rf "$W"
mkdir -p "$W"
pass=0
failed=0

ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
# expect STATUS DESCRIPTION CMD...: CMD must exit with STATUS
expect() {
	want=$1 what=$2
	shift 2
	"$@" >"$W/out" 2>&1
	got=$?
	if [ "$got" = "$want" ]; then ok "$what"; else bad "$what (exit $got, want $want)"; cat "$W/out"; fi
}
# out_has TEXT: the last command printed TEXT (a line matching the regex)
out_has() {
	if grep -q -- "$1" "$W/out"; then ok "output has '$1'"; else bad "output lacks '$1'"; cat "$W/out"; fi
}
