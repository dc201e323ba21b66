#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine as root or on a developer's:
# installs the PC/SC stack and the real clients the interop tests judge by
# (pcscd, vsmartcard-vpcd, OpenSC, yubico-piv-tool, openssl, gpgsm), starts pcscd
# with the virtual readers, runs every test of the workspace, and stops pcscd again
# if it started it.
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
cargo test --workspace "$@"
