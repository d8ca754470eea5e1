#!/bin/bash
# check.sh FILE.c [CASE...]: builds one conformance file (static) and runs its
# cases natively and under sbx, printing one line per case. A quick loop for
# work on pending files; the harness in ../syscalls_test.go is the real test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
src=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); shift
sbx=${SBX:-$root/bin/sbx}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bin=$out/$(basename "$src" .c)
gcc -O1 -static -I"$root/test/syscalls" -o "$bin" "$src" -lpthread -lrt || exit 2
cases=("$@")
[ ${#cases[@]} -eq 0 ] && mapfile -t cases < <("$bin")
pass=0; fail=0
for c in "${cases[@]}"; do
  n=ok; timeout 30 "$bin" "$c" >/dev/null 2>&1 || n=FAIL
  s=ok; msg=$(cd "$out" && timeout 30 "$sbx" run -v "$out:$out" "$bin" "$c" 2>&1) || s=FAIL
  if [ $s = ok ]; then pass=$((pass+1)); else fail=$((fail+1)); fi
  printf '%-45s native=%-4s sbx=%s\n' "$c" "$n" "$s"
  [ $s = FAIL ] && [ -n "${VERBOSE:-}" ] && printf '%s\n' "$msg" | tail -5 | sed 's/^/    /'
done
echo "sbx: $pass passed, $fail failed"
