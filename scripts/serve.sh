#!/usr/bin/env bash
# Serve a virtual PIV card to the system's PC/SC stack: installs and starts pcscd with
# vsmartcard's vpcd readers if needed, then runs `card-sim serve` in the foreground
# (Ctrl-C stops it). Any PC/SC client then sees a PIV card in "Virtual PCD 00 00".
#
#   scripts/serve.sh [STATE_FILE] [extra card-sim serve options]
set -euo pipefail
cd "$(dirname "$0")/.."
state=${1:-${XDG_DATA_HOME:-$HOME/.local/share}/card-sim/card.json}
shift || true
mkdir -p "$(dirname "$state")"
bash .ci/pcsc-env.sh install
bash .ci/pcsc-env.sh start
exec cargo run --quiet --release -p card-sim -- serve --state "$state" "$@"
