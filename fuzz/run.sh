#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one after
# another, at the lowest CPU priority. Works on a stable toolchain.
#
#   fuzz/run.sh [SECONDS] [TARGET...]        default: 600 s, every target
#
# Environment:
#   SANITIZER=none|address   default none (stable Rust); `address` needs
#                            RUSTC_BOOTSTRAP=1 on stable, see README.md
#   FUZZ_JOBS=N              parallel libFuzzer jobs per target (default 1)
#   FUZZ_FEATURES=a,b        cargo features of the fuzz crate, e.g.
#                            cap-quantities (see README.md)
#
# New corpus entries go to fuzz/corpus/<target>, crashes to
# fuzz/artifacts/<target>, logs to fuzz/logs/<target>.log. Exits non-zero
# if any target crashed or failed to run.
set -euo pipefail
cd "$(dirname "$0")"

secs="${1:-600}"
shift || true
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=(signed_entry documents_json sync_messages ingest sealed_entry)
fi
sanitizer="${SANITIZER:-none}"
jobs="${FUZZ_JOBS:-1}"
target_dir=()
features=()
if [ -n "${FUZZ_FEATURES:-}" ]; then
    features=(--features "$FUZZ_FEATURES")
fi
if [ "$sanitizer" != none ]; then
    # Keep instrumented builds apart, so switching does not rebuild everything.
    target_dir=(--target-dir "target/$sanitizer")
fi

command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
}

mkdir -p logs
nice -n 19 cargo fuzz build -s "$sanitizer" "${target_dir[@]}" "${features[@]}"

failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    dirs=("corpus/$t")
    [ -d "seeds/$t" ] && dirs+=("seeds/$t")
    extra=()
    [ "$jobs" -gt 1 ] && extra=(-fork="$jobs")
    echo "== $t: ${secs}s, sanitizer $sanitizer"
    if nice -n 19 cargo fuzz run -s "$sanitizer" "${target_dir[@]}" "${features[@]}" "$t" "${dirs[@]}" -- \
        -max_total_time="$secs" -timeout=30 -print_final_stats=1 "${extra[@]}" \
        >"logs/$t.log" 2>&1; then
        grep -E '^#[0-9]+[[:space:]]+DONE' "logs/$t.log" | tail -1 || true
    else
        echo "!! $t failed: see fuzz/logs/$t.log and fuzz/artifacts/$t/" >&2
        grep -E 'panicked at|ERROR:|SUMMARY' "logs/$t.log" | head -5 >&2 || true
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
echo "all ${#targets[@]} target(s) ran ${secs}s without a crash"
