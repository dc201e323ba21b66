#!/usr/bin/env bash
# The benchmark: builds in release mode, starts pcscd with the vpcd readers if a section
# needs it (and stops it again if it started it), and runs the `bench` crate, which prints
# one table and writes it to target/bench/report.md.
#
#   scripts/bench.sh [--quick] [--only transport,yubico,card,smime] [--out DIR]
#
# Sections: transport (one APDU through pcscd, beside an echo card), yubico
# (yubico-piv-tool against card-sim serve), card (key generation and signatures beside
# openssl), smime (smime-card beside openssl cms on 1 MiB, 100 MiB and 1 GiB mail).
set -euo pipefail
cd "$(dirname "$0")/.."

# Does the selection include a section that talks to pcscd? All sections unless `--only`
# is given; `--only` may be given more than once, and the sections add up.
args=("$@")
only=()
for i in "${!args[@]}"; do
    case "${args[$i]}" in
        --only=*) only+=("${args[$i]#--only=}") ;;
        --only) only+=("${args[$((i + 1))]:-}") ;;
    esac
done
needs_pcscd=1
if [ "${#only[@]}" -gt 0 ]; then
    selected=",$(IFS=,; echo "${only[*]}"),"
    [[ $selected == *,transport,* || $selected == *,yubico,* ]] || needs_pcscd=0
fi

env_script=.ci/pcsc-env.sh
bash "$env_script" install   # also openssl and yubico-piv-tool
cargo build --quiet --release -p bench -p card-sim -p smime-card

if [ "$needs_pcscd" = 1 ]; then
    if ! bash "$env_script" status >/dev/null 2>&1; then
        trap 'bash "$env_script" stop >/dev/null' EXIT
    fi
    bash "$env_script" start
fi
target/release/bench "$@"
