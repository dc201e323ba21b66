#!/usr/bin/env bash
# Measures S/MIME signing and verifying of 1 MiB, 100 MiB and 1 GiB messages: wall time
# and peak memory (GNU time's maximum resident set size) of `smime-card sign` with an
# in-process card-sim card, beside `openssl cms -sign -stream` with a software key of the
# same kind on the same files. Prints a Markdown table.
#
#   scripts/bench-smime.sh [SIZES_MIB...]     (default: 1 100 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(1 100 1024); fi

cargo build --quiet --release -p smime-card
bin=$PWD/target/release/smime-card
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -subj "/CN=Bench CA" -days 2 -addext basicConstraints=critical,CA:true \
    -addext keyUsage=critical,keyCertSign 2>/dev/null
printf 'subjectAltName=email:alice@example.org\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\n' > user.ext
export PIN=123456
"$bin" --sim card.json card generate --slot 9c --algorithm p256 --out card.pub 2>/dev/null
openssl x509 -new -force_pubkey card.pub -CA ca.pem -CAkey ca.key -subj "/CN=Alice" -days 2 \
    -extfile user.ext -out card.pem 2>/dev/null
"$bin" --sim card.json card import-cert --slot 9c --in card.pem 2>/dev/null
# openssl signs with a software P-256 key and a certificate like the card's.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out soft.key
openssl req -new -key soft.key -subj "/CN=Alice" 2>/dev/null |
    openssl x509 -req -CA ca.pem -CAkey ca.key -days 2 -extfile user.ext -out soft.pem 2>/dev/null

measure() {  # label, command...: prints "seconds|peak MiB"
    /usr/bin/time -f '%e %M' -o time.txt "${@:2}" >/dev/null 2>&1 || { echo "$1 failed" >&2; exit 1; }
    read -r secs kib < time.txt
    printf '%s|%s' "$secs" "$((kib / 1024))"
}

echo "| size | smime-card sign | openssl cms -sign -stream | smime-card sign --opaque | smime-card verify | openssl cms -verify |"
echo "|---|---|---|---|---|---|"
for mib in "${sizes[@]}"; do
    { printf 'From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: bench\r\n\r\n'
      head -c $((mib * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 -w 76; } > msg.txt
    sign=$(measure sign "$bin" --sim card.json sign --in msg.txt --out signed.eml --pin-env PIN)
    ossl=$(measure openssl openssl cms -sign -stream -in msg.txt -signer soft.pem -inkey soft.key -out ossl.eml)
    opaque=$(measure opaque "$bin" --sim card.json sign --opaque --in msg.txt --out opaque.eml --pin-env PIN)
    if "$bin" verify --help >/dev/null 2>&1; then
        verify=$(measure verify "$bin" verify --in signed.eml --ca ca.pem)
    else
        verify="n/a|n/a"
    fi
    overify=$(measure overify openssl cms -verify -in signed.eml -CAfile ca.pem -purpose smimesign -out /dev/null)
    fmt() { IFS='|' read -r s m <<<"$1"; printf '%s s, %s MiB' "$s" "$m"; }
    echo "| ${mib} MiB | $(fmt "$sign") | $(fmt "$ossl") | $(fmt "$opaque") | $(fmt "$verify") | $(fmt "$overify") |"
    rm -f msg.txt signed.eml ossl.eml opaque.eml
done
