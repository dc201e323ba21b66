#!/usr/bin/env bash
# Measures S/MIME signing, verifying, encrypting and decrypting of 1 MiB, 100 MiB and 1 GiB
# messages: wall time and peak memory (GNU time's maximum resident set size) of smime-card
# with an in-process card-sim card, beside `openssl cms ... -stream` with a software key of
# the same kind on the same files. Prints two Markdown tables.
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
# Encryption to a P-256 key: the card's in 9D for smime-card, a software one for openssl.
printf 'subjectAltName=email:bob@example.org\nkeyUsage=critical,keyAgreement\nextendedKeyUsage=emailProtection\n' > enc.ext
"$bin" --sim card.json card generate --slot 9d --algorithm p256 --out card-enc.pub 2>/dev/null
openssl x509 -new -force_pubkey card-enc.pub -CA ca.pem -CAkey ca.key -subj "/CN=Bob" -days 2 \
    -extfile enc.ext -out card-enc.pem 2>/dev/null
"$bin" --sim card.json card import-cert --slot 9d --in card-enc.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out soft-enc.key
openssl req -new -key soft-enc.key -subj "/CN=Bob" 2>/dev/null |
    openssl x509 -req -CA ca.pem -CAkey ca.key -days 2 -extfile enc.ext -out soft-enc.pem 2>/dev/null

measure() {  # label, command...: prints "seconds|peak MiB"
    /usr/bin/time -f '%e %M' -o time.txt "${@:2}" >/dev/null 2>&1 || { echo "$1 failed" >&2; exit 1; }
    read -r secs kib < time.txt
    printf '%s|%s' "$secs" "$((kib / 1024))"
}

fmt() { IFS='|' read -r s m <<<"$1"; printf '%s s, %s MiB' "$s" "$m"; }
message() {  # MiB: a mail of about that size, base64 text
    { printf 'From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: bench\r\n\r\n'
      head -c $(($1 * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 -w 76; } > msg.txt
}

echo "| size | smime-card sign | openssl cms -sign -stream | smime-card sign --opaque | smime-card verify | openssl cms -verify |"
echo "|---|---|---|---|---|---|"
for mib in "${sizes[@]}"; do
    message "$mib"
    sign=$(measure sign "$bin" --sim card.json sign --in msg.txt --out signed.eml --pin-env PIN)
    ossl=$(measure openssl openssl cms -sign -stream -in msg.txt -signer soft.pem -inkey soft.key -out ossl.eml)
    opaque=$(measure opaque "$bin" --sim card.json sign --opaque --in msg.txt --out opaque.eml --pin-env PIN)
    verify=$(measure verify "$bin" verify --in signed.eml --ca ca.pem)
    overify=$(measure overify openssl cms -verify -in signed.eml -CAfile ca.pem -purpose smimesign -out /dev/null)
    echo "| ${mib} MiB | $(fmt "$sign") | $(fmt "$ossl") | $(fmt "$opaque") | $(fmt "$verify") | $(fmt "$overify") |"
    rm -f msg.txt signed.eml ossl.eml opaque.eml
done

echo
echo "| size, cipher | smime-card encrypt | openssl cms -encrypt -stream | smime-card decrypt (card) | openssl cms -decrypt |"
echo "|---|---|---|---|---|"
for mib in "${sizes[@]}"; do
    message "$mib"
    for cipher in aes256-cbc aes256-gcm; do
        enc=$(measure encrypt "$bin" encrypt --in msg.txt --to card-enc.pem --cipher "$cipher" --out enc.eml)
        oenc=$(measure oencrypt openssl cms -encrypt -stream -in msg.txt "-${cipher/aes256/aes-256}" \
            -recip soft-enc.pem -out oenc.eml)
        if "$bin" decrypt --help >/dev/null 2>&1; then
            dec=$(measure decrypt "$bin" --sim card.json decrypt --in enc.eml --out dec.txt --pin-env PIN)
        else
            dec="n/a|n/a"
        fi
        odec=$(measure odecrypt openssl cms -decrypt -in oenc.eml -recip soft-enc.pem \
            -inkey soft-enc.key -out odec.txt)
        echo "| ${mib} MiB, ${cipher} | $(fmt "$enc") | $(fmt "$oenc") | $(fmt "$dec") | $(fmt "$odec") |"
        rm -f enc.eml oenc.eml dec.txt odec.txt
    done
    rm -f msg.txt
done
