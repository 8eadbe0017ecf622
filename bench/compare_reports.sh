#!/usr/bin/env bash
# Byte-identity check for engine changes: runs two callconv CLIs over the precision corpus
# and diffs their JSON reports.
#
#   bench/compare_reports.sh OLD_CLI NEW_CLI [OUT_DIR]
#
# Each Debian architecture's NIFs are checked against that architecture's own ERTS
# (--erts, as tests/precision.rs does), and every library of the corpus (NIFs and wheels)
# also in the exports mode (--exports), which runs the same engine on every exported
# function. Exits 1 and lists the libraries whose reports differ. With KEEP_OLD=1, reports
# of OLD_CLI already in OUT_DIR/old are reused (the old binary's output does not change).
set -euo pipefail
old="${1:?usage: compare_reports.sh OLD_CLI NEW_CLI [OUT_DIR]}"
new="${2:?usage: compare_reports.sh OLD_CLI NEW_CLI [OUT_DIR]}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="$repo/test/fixtures/cache/precision"
out="${3:-$(mktemp -d)}"
mkdir -p "$out/old" "$out/new"
[ -d "$corpus/debian" ] || { echo "no corpus in $corpus: run test/fixtures/precision.sh" >&2; exit 2; }

differ=0
compared=0
run_both() { # KEY ARGS...
  local key="$1"
  shift
  # A failing library (exit 1) still writes its report: only the document is compared.
  if [ "${KEEP_OLD:-0}" != 1 ] || [ ! -s "$out/old/$key.json" ]; then
    "$old" check --format json "$@" > "$out/old/$key.json" 2>/dev/null || true
  fi
  "$new" check --format json "$@" > "$out/new/$key.json" 2>/dev/null || true
  compared=$((compared + 1))
  if ! cmp -s "$out/old/$key.json" "$out/new/$key.json"; then
    echo "DIFFERS: $key ($*)"
    differ=$((differ + 1))
  fi
}

for dir in "$corpus"/debian/*/root; do
  arch="$(basename "$(dirname "$dir")")"
  while IFS= read -r lib; do
    key="debian-$arch-$(basename "$lib")"
    run_both "$key" --erts "$dir/usr/lib/erlang" "$lib"
    run_both "$key-exports" --exports "$lib"
  done < <(find "$dir" -name '*.so' | sort)
done
while IFS= read -r lib; do
  key="wheel-$(echo "${lib#"$corpus"/wheels/}" | tr '/' '_')"
  run_both "$key-exports" --exports "$lib"
done < <(find "$corpus/wheels" \( -name '*.so' -o -name '*.pyd' \) | sort)

echo "compared $compared reports in $out: $differ differ"
[ "$differ" -eq 0 ]
