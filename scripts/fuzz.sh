#!/usr/bin/env bash
# Fuzzes every target in fuzz/ for SECONDS_PER_TARGET seconds each (default 20), one
# after another in one process each, and prints the executions and coverage of each.
# Fails if any target crashes, panics, hangs or runs out of memory; the input that did
# it is in fuzz/artifacts/TARGET/. Inputs that found new coverage stay in
# fuzz/corpus/TARGET (not committed) and are started from next time, after the committed
# seeds in fuzz/seeds/TARGET.
#
# Needs cargo-fuzz (installed from crates.io when missing) and a C++ compiler. It runs on
# the stable toolchain: RUSTC_BOOTSTRAP lets it accept the unstable flags that cargo-fuzz
# passes to rustc for the coverage instrumentation.
set -euo pipefail
seconds=${1:-20}
cd "$(dirname "$0")/../fuzz"

# libFuzzer is C++, compiled by libfuzzer-sys's build script.
if ! command -v c++ >/dev/null && ! command -v g++ >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "fuzz.sh: installing g++ to compile libFuzzer"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends g++
    else
        echo "fuzz.sh: libFuzzer needs a C++ compiler (c++ or g++); install one," \
             "e.g. 'apt-get install g++'" >&2
        exit 1
    fi
fi

if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
# -s none: no sanitizer; Rust's own checks (bounds, overflow with debug assertions,
# which cargo-fuzz turns on) catch what the sanitizers would in safe code.
cargo fuzz build -s none

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
printf '%-16s %12s %8s %8s %8s %s\n' target executions cov ft corpus result
for target in $(cargo fuzz list); do
    mkdir -p "corpus/$target"
    log=$logs/$target.log
    result=ok
    # Inputs that run fast get more of the time: the card target would otherwise spend
    # most of it importing RSA keys and generating EC keys.
    if ! cargo fuzz run -s none "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -entropic_scale_per_exec_time=1 \
        -print_final_stats=1 >"$log" 2>&1; then
        result="FAILED (fuzz/artifacts/$target/)"
        failed+=("$target")
        tail -n 30 "$log" >&2
    fi
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    # The last status line: "#N DONE cov: C ft: F corp: K/…".
    read -r cov ft corpus < <(grep -E '^#[0-9]+' "$log" | tail -n 1 |
        sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 \2 \3/') || true
    printf '%-16s %12s %8s %8s %8s %s\n' "$target" "${runs:-?}" "${cov:-?}" "${ft:-?}" \
        "${corpus:-?}" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]}" >&2
    exit 1
fi
