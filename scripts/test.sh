#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine as root or on a developer's:
# installs the PC/SC stack and the real clients the interop tests judge by
# (pcscd, vsmartcard-vpcd, OpenSC, yubico-piv-tool, openssl, gpgsm), starts pcscd
# with the virtual readers, runs every test of the workspace (in parallel with
# cargo-nextest where installed), and stops pcscd again if it started it.
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

# The interop tests run the card-sim binary; build it before they start.
cargo build --workspace --bins
# nextest runs the tests of every binary side by side, each interop test in a reader of
# its own (.config/nextest.toml says which run alone); it leaves doctests to cargo test.
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace "$@"
    cargo test --doc --workspace
else
    echo "test.sh: cargo-nextest is not installed, so the tests run one binary after another" \
         "with cargo test (slower); 'cargo install --locked cargo-nextest' runs them in parallel" >&2
    cargo test --workspace "$@"
fi
