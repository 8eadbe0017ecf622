#!/usr/bin/env bash
# Coverage-guided fuzzing of callconv's core with libFuzzer, on stable Rust.
#
#   native/fuzz/run.sh [SECONDS] [TARGET...]   fuzz each target for SECONDS (default 60)
#   native/fuzz/run.sh --smoke                 CI: 10 s per target, 60 s of fuzzing in all
#   native/fuzz/run.sh --replay                run the committed corpus and regressions once
#   native/fuzz/run.sh --keep-going SECONDS    fuzz on past findings (libFuzzer fork mode), to
#                                              collect every distinct bug in one long run
#
# cargo-fuzz needs nightly only for its sanitizer flags; the coverage instrumentation itself
# (-Cpasses=sancov-module and the sanitizer-coverage LLVM options) is stable, so this script
# builds the libfuzzer-sys targets with plain cargo. Without a sanitizer, libFuzzer still
# catches panics (overflow and debug assertions are on), aborts, hangs (-timeout) and
# oversized allocations (-malloc_limit_mb), which are exactly what must never reach the BEAM.
#
# Seeds: the built host fixtures, the committed cross fixtures, the NIFs of the installed
# Erlang/OTP, and native/fuzz/corpus/<target>/. Every input that crashes, hangs or allocates
# too much is written to $FUZZ_OUT/artifacts/<target>/ and the script exits 1; commit it to
# native/fuzz/regressions/<target>/ and to native/callconv_core/tests/regressions/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

targets_all=(check_bytes entry_decode locate_code image_reads analysis_code beam_read)
mode=fuzz
seconds=60
case "${1:-}" in
  --smoke) seconds=10; shift ;;
  --replay) mode=replay; shift ;;
  --keep-going) mode=keep; seconds="${2:-600}"; shift 2 || shift ;;
  ''|-*) ;;
  *) seconds="$1"; shift ;;
esac
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${targets_all[@]}")

out="${FUZZ_OUT:-/tmp/callconv-fuzz}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$out/target}"
# --target keeps these flags off build scripts and proc macros, as cargo-fuzz does.
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
build_start=$SECONDS
(cd "$here" && cargo build --release --locked --target "$triple" "${targets[@]/#/--bin=}" >&2)
echo "built in $((SECONDS - build_start)) s" >&2
bin="$CARGO_TARGET_DIR/$triple/release"

# The shared seed set for the file-level targets.
seeds="$out/seeds"
rm -rf "$seeds" && mkdir -p "$seeds"
[ -d "$repo/test/fixtures/build/host" ] || bash "$repo/test/fixtures/build.sh" >&2
for f in "$repo"/test/fixtures/build/host/*.so /usr/lib/erlang/lib/*/priv/lib/*.so; do
  [ -f "$f" ] && cp "$f" "$seeds/$(basename "$(dirname "$f")")_$(basename "$f")"
done
if [ -d "$repo/test/fixtures/cross" ]; then
  while IFS= read -r -d '' f; do
    cp "$f" "$seeds/$(echo "${f#"$repo"/test/fixtures/cross/}" | tr / _)"
  done < <(find "$repo/test/fixtures/cross" -type f \( -name '*.so' -o -name '*.dll' -o -name '*.dylib' \) -print0)
fi

status=0
report="$out/summary.md"
printf '| target | seconds | runs | exec/s | coverage (edges) | corpus | findings |\n|---|---:|---:|---:|---:|---:|---|\n' > "$report"
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  artifacts="$out/artifacts/$t"
  rm -rf "$artifacts"   # findings of an earlier run were reported then
  mkdir -p "$corpus" "$artifacts"
  inputs=("$corpus")
  [ -d "$here/corpus/$t" ] && inputs+=("$here/corpus/$t")
  [ -d "$here/regressions/$t" ] && inputs+=("$here/regressions/$t")
  case "$t" in check_bytes|entry_decode) inputs+=("$seeds") ;; esac
  common=(-timeout=2 -rss_limit_mb=1536 -malloc_limit_mb=512 -max_len=262144
          -artifact_prefix="$artifacts/" -print_final_stats=1)
  log="$out/$t.log"
  if [ "$mode" = replay ]; then
    files=()
    for d in "${inputs[@]:1}"; do while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$d" -type f -print0); done
    if [ ${#files[@]} -eq 0 ]; then echo "$t: nothing to replay" >&2; continue; fi
    if "$bin/$t" "${common[@]}" -runs=1 "${files[@]}" > "$log" 2>&1; then
      echo "$t: replayed ${#files[@]} inputs, all fine" >&2
    else
      echo "$t: an input failed, see $log" >&2; tail -20 "$log" >&2; status=1
    fi
    continue
  fi
  start=$SECONDS
  extra=()
  [ "$mode" = keep ] && extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  if "$bin/$t" "${common[@]}" "${extra[@]}" -max_total_time="$seconds" -use_value_profile=1 "${inputs[@]}" > "$log" 2>&1 \
     && [ -z "$(ls -A "$artifacts")" ]; then
    found="none"
  else
    found="$(ls "$artifacts" | sed 's/-.*//' | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')"
    found="${found:-target failed, see $log}"
    status=1
    tail -30 "$log" >&2
  fi
  ran=$((SECONDS - start))
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1 || true)"
  cov="$( (grep -oE 'cov: [0-9]+' "$log" || true) | tail -1 | cut -d' ' -f2)"
  size="$(find "$corpus" -type f | wc -l)"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$ran" "${runs:-?}" "${speed:-?}" "${cov:-?}" "$size" "$found" >> "$report"
done
[ "$mode" != replay ] && cat "$report"
exit $status
