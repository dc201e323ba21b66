#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine as root or on a developer's:
# installs the PC/SC stack and the real clients the interop tests judge by
# (pcscd, vsmartcard-vpcd, OpenSC, yubico-piv-tool, openssl, gpgsm), starts pcscd
# with the virtual readers, runs every test of the workspace (in parallel with
# cargo-nextest where installed), and stops pcscd again if it started it.
#
# Arguments are test-name filters (a test runs if its name contains one of them), e.g.
# `bash scripts/test.sh puk_unblock opensc`. They reach nextest and cargo test alike, after
# `--`; cargo options (`-p`, `--release`) do not: the two runners take different ones.
set -euo pipefail
cd "$(dirname "$0")/.."

env_script=.ci/pcsc-env.sh
bash "$env_script" install

started=0
if ! bash "$env_script" status >/dev/null 2>&1; then
    started=1
fi
bash "$env_script" start
if [ "$started" = 1 ]; then
    trap 'bash "$env_script" stop >/dev/null' EXIT
fi

# The interop tests run the card-sim and smime-card binaries: built here once, and named
# to them, so that no test process (one per test under nextest) runs a cargo build of its own.
cargo build --workspace --bins
bin_dir="$(realpath -m "${CARGO_TARGET_DIR:-target}")/debug"
export CARD_SIM_BIN="$bin_dir/card-sim" SMIME_CARD_BIN="$bin_dir/smime-card"
# The interop tests (crate e2e) mostly wait, on pcscd's reader polls, card-sim and the
# clients: nextest runs them side by side, each in a reader of its own
# (.config/nextest.toml says which run alone). The other crates' tests compute, and some
# share fixtures made once per test binary (smime_verify's PKI), which nextest's process
# per test would make again for every test: cargo test runs those, doctests included.
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace -E 'package(e2e)' -- "$@"
    cargo test --workspace --exclude e2e -- "$@"
    cargo test --doc -p e2e
else
    echo "test.sh: cargo-nextest is not installed, so the interop tests run one binary after" \
         "another with cargo test (slower); 'cargo install --locked cargo-nextest' runs them" \
         "side by side" >&2
    cargo test --workspace -- "$@"
fi
