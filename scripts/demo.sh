#!/usr/bin/env bash
# The story on embedded (in-process) cards: a CA issues Alice and Bob certificates for
# keys generated on their cards (one to sign, one to decrypt); Alice signs a mail with her
# card and PIN and encrypts it to Bob and to herself; Bob decrypts it with his card and PIN
# and verifies the signature against the CA; openssl agrees.
#
# Everything happens in a temporary directory; the cards are card-sim state files.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -q openssl; }
cargo build --quiet --release -p smime-card
card=$PWD/target/release/smime-card
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
say() { printf '\n== %s\n' "$*"; }

say "The CA: a root certificate for the organisation's mail"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout ca.key -out ca.pem \
    -subj "/O=Example Org/CN=Example Mail CA" -days 365 \
    -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl x509 -in ca.pem -noout -subject

export CARD_PIN=123456   # the factory PIN of a fresh card
for user in alice bob; do
    say "$user's card: a signing key (9c) and a decryption key (9d) generated on the card, certified by the CA"
    "$card" --sim "$user.json" card generate --slot 9c --algorithm p256 --out "$user.pub"
    printf 'subjectAltName=email:%s@example.org\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\n' "$user" > "$user.ext"
    openssl x509 -new -force_pubkey "$user.pub" -CA ca.pem -CAkey ca.key -days 365 \
        -subj "/O=Example Org/CN=${user^}" -extfile "$user.ext" -out "$user.pem" 2>/dev/null
    "$card" --sim "$user.json" card import-cert --slot 9c --in "$user.pem"
    "$card" --sim "$user.json" card generate --slot 9d --algorithm p256 --out "$user-enc.pub"
    printf 'subjectAltName=email:%s@example.org\nkeyUsage=critical,keyAgreement\nextendedKeyUsage=emailProtection\n' "$user" > "$user-enc.ext"
    openssl x509 -new -force_pubkey "$user-enc.pub" -CA ca.pem -CAkey ca.key -days 365 \
        -subj "/O=Example Org/CN=${user^}" -extfile "$user-enc.ext" -out "$user-enc.pem" 2>/dev/null
    "$card" --sim "$user.json" card import-cert --slot 9d --in "$user-enc.pem"
    "$card" --sim "$user.json" card status | sed -n '/^Slot 9c/,/^$/p'
done

say "Alice writes to Bob, signs with her card (the key never leaves it), and encrypts to Bob and herself"
printf 'From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\nSubject: Budget\nDate: %s\n\nBob, the budget is approved.\nAlice\n' \
    "$(date -R)" > mail.txt
"$card" --sim alice.json sign --in mail.txt --out sent.eml --pin-env CARD_PIN \
    --encrypt-to bob-enc.pem --encrypt-self
sed -n '1,8p' sent.eml

say "Bob decrypts with his card and PIN, and verifies Alice's signature against the CA"
"$card" --sim bob.json decrypt --in sent.eml --out received.eml --pin-env CARD_PIN --ca ca.pem
"$card" verify --in received.eml --ca ca.pem --out content.txt
cat content.txt

say "Alice's own copy opens with her card"
"$card" --sim alice.json decrypt --in sent.eml --out own-copy.eml --pin-env CARD_PIN --ca ca.pem

say "openssl agrees"
openssl cms -verify -in received.eml -CAfile ca.pem -purpose smimesign -out /dev/null

say "A changed word breaks the signature"
sed 's/approved/rejected/' received.eml > forged.eml
if "$card" verify --in forged.eml --ca ca.pem; then echo "forgery accepted?!"; exit 1; fi
echo "(as it should)"
