#!/usr/bin/env bash
# Makes the fuzz targets' fixtures and seed corpora with the project's own tools, and
# replaces the committed ones (fuzz/fixtures, fuzz/seeds):
# - `smime-card demo` makes a CA and two enrolled cards and a signed, encrypted mail; the
#   second card's state and the CA certificate become the fixtures, and the CLI signs
#   and encrypts a few more mails with them (multipart and opaque, CBC and GCM);
# - the mail targets get those messages, the CMS targets their bodies as BER;
# - `card_seeds` records what the host driver sends to a card (card, APDU, TLV targets).
set -euo pipefail

fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz")
cd "$root"
cargo build -p smime-card
cli=$root/target/debug/smime-card

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
demo=$work/demo
"$cli" demo --dir "$demo" >/dev/null
export SMIME1_PIN=314159
"$cli" --sim "$demo/smime1.json" sign --opaque --in "$demo/mail.txt" --out "$demo/opaque.eml" \
    --pin-env SMIME1_PIN
"$cli" encrypt --in "$demo/received.eml" --to "$demo/smime2-encrypt.pem" --cipher aes128-gcm \
    --out "$demo/gcm.eml"

cd "$fuzz"
rm -rf fixtures seeds
mkdir -p fixtures seeds/{verify,decrypt,mime,signed_data,enveloped_data}
# The fixture card is SMIME2's (PIN 271828, see src/fixtures.rs).
cp "$demo/smime2.json" fixtures/card.json
cp "$demo/ca/ca.pem" fixtures/ca.pem

cp "$demo/received.eml" seeds/verify/multipart.eml
cp "$demo/opaque.eml" seeds/verify/opaque.eml
cp "$demo/sent.eml" seeds/decrypt/cbc.eml
cp "$demo/gcm.eml" seeds/decrypt/gcm.eml
cp "$demo/mail.txt" "$demo/received.eml" "$demo/sent.eml" seeds/mime/

# The base64 body after the header block, and the signature part of a multipart/signed.
body() { tr -d '\r' <"$1" | sed '1,/^$/d' | base64 -d; }
signature() {
    tr -d '\r' <"$1" | awk '/smime\.p7s/ { part = 1 } part && /^$/ { body = 1; next }
        body && /^--/ { exit } body { print }' | base64 -d
}
body "$demo/opaque.eml" >seeds/signed_data/opaque.der
signature "$demo/received.eml" >seeds/signed_data/detached.der
body "$demo/sent.eml" >seeds/enveloped_data/cbc.ber
body "$demo/gcm.eml" >seeds/enveloped_data/gcm.ber

cargo run --release --example card_seeds
