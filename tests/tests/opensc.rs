//! OpenSC 0.23 (opensc-tool, pkcs15-tool, pkcs11-tool with opensc-pkcs11.so) against
//! card-sim: OpenSC's generic PIV driver recognises the card, and every private-key
//! operation it exposes checks out with OpenSSL.
//!
//! Keys are generated and certificates imported with yubico-piv-tool (OpenSC's PIV driver
//! needs a certificate in a slot to expose its key). OpenSC's PIV key ids: 01 for 9a,
//! 02 for 9c, 03 for 9d, 04 for 9e. The key usage OpenSC gives a key follows its slot:
//! 9a/9c/9e sign, 9d decrypts (RSA) or derives (EC).

mod common;

use common::{Bench, DEFAULT_PIN, openssl_verify, parse_pkcs11_slot, pkcs11_sign};

#[test]
fn parses_pkcs11_slot_listing() {
    let listing = "Available slots:\nSlot 0 (0x0): Virtual PCD 1 00 00\n  (empty)\n\
                   Slot 5 (0x5): Virtual PCD 00 00\n  token label        : x\n  serial num : 1\n\
                   Slot 6 (0x6): Virtual PCD 00 01\n  (empty)\n";
    let (id, token) = parse_pkcs11_slot(listing, "Virtual PCD 00 00").expect("slot found");
    assert_eq!(id, "0x5");
    assert!(token.contains("token label"));
    assert!(!token.contains("(empty)"));
    assert!(parse_pkcs11_slot(listing, "Virtual PCD 00").is_none());
}

#[test]
fn opensc_tool_and_pkcs15_dump() {
    let bench = Bench::new();
    let text = bench.opensc_ok("opensc-tool", &["-r", bench.reader(), "-a", "-n"]);
    assert!(
        text.contains("3b:8b:80:01:80:f9:a0:00:00:03:08:00:00:10:00:c8"),
        "{text}"
    );
    assert!(
        text.contains("Personal Identity Verification Card"),
        "{text}"
    );

    let (_, cert) = bench.key_with_certificate("9a", "ECCP256", "/CN=pkcs15 dump");
    let dump = bench.opensc_ok("pkcs15-tool", &["--reader", bench.reader(), "--dump"]);
    for expected in [
        "PIN [PIN]",
        "PIN [PIV PUK]",
        "Private EC Key [PIV AUTH key]",
        "Public EC Key [PIV AUTH pubkey]",
        "X.509 Certificate [Certificate for PIV Authentication]",
        "Data object 'Card Holder Unique Identifier'",
        "Data object 'Discovery Object'",
    ] {
        assert!(
            dump.contains(expected),
            "pkcs15-tool --dump lacks {expected:?}:\n{dump}"
        );
    }
    assert!(dump.contains("Key ref        : 154 (0x9A)"), "{dump}");

    // The certificate OpenSC reads is the one imported.
    let read = bench.path("read.pem");
    bench.opensc_ok(
        "pkcs15-tool",
        &[
            "--reader",
            bench.reader(),
            "--read-certificate",
            "01",
            "-o",
            &read,
        ],
    );
    let der = |path: &str| test_pki::der_of(std::path::Path::new(path));
    assert_eq!(der(&read), der(&cert));
}

#[test]
fn pkcs11_lists_slot_token_and_objects() {
    let bench = Bench::new();
    let listing = bench.opensc_ok("pkcs11-tool", &["--module", common::OPENSC_PKCS11, "-L"]);
    let (_, token) =
        parse_pkcs11_slot(&listing, bench.reader()).unwrap_or_else(|| panic!("{listing}"));
    assert!(token.contains("token label"), "{listing}");
    assert!(token.contains("piv_II"), "{listing}");
    assert!(token.contains("PIN initialized"), "{listing}");

    bench.key_with_certificate("9a", "ECCP256", "/CN=pkcs11 auth");
    bench.key_with_certificate("9c", "ECCP384", "/CN=pkcs11 sign");
    bench.key_with_certificate("9d", "RSA2048", "/CN=pkcs11 keymgmt");
    let objects = bench.pkcs11_ok(&["--login", "--pin", DEFAULT_PIN, "-O"]);
    for expected in [
        "subject:    DN: CN=pkcs11 auth",
        "subject:    DN: CN=pkcs11 sign",
        "subject:    DN: CN=pkcs11 keymgmt",
        "label:      PIV AUTH key",
        "label:      SIGN key",
        "label:      KEY MAN key",
        "Public Key Object; RSA 2048 bits",
        "Public Key Object; EC  EC_POINT 256 bits",
        "Public Key Object; EC  EC_POINT 384 bits",
    ] {
        assert!(
            objects.contains(expected),
            "pkcs11-tool -O lacks {expected:?}:\n{objects}"
        );
    }
    // The private keys appear once logged in, with the ids OpenSC gives PIV slots.
    for id in ["ID:         01", "ID:         02", "ID:         03"] {
        assert!(objects.contains(id), "{objects}");
    }
}

#[test]
fn pkcs11_ecdsa_p256_and_p384() {
    let bench = Bench::new();
    let (p256, _) = bench.key_with_certificate("9a", "ECCP256", "/CN=ecdsa p256");
    // 9C has PIN policy "always": pkcs11-tool logs in again (context specific) per signature.
    let (p384, _) = bench.key_with_certificate("9c", "ECCP384", "/CN=ecdsa p384");
    for (id, public, mechanism, digest) in [
        ("01", &p256, "ECDSA-SHA256", "-sha256"),
        ("02", &p384, "ECDSA-SHA256", "-sha256"),
        ("02", &p384, "ECDSA-SHA384", "-sha384"),
    ] {
        let sig = pkcs11_sign(
            &bench,
            id,
            mechanism,
            &["--signature-format", "openssl"],
            &format!("sig-{id}-{mechanism}"),
        );
        openssl_verify(&bench, digest, public, &sig, &[]);
    }
}

#[test]
fn pkcs11_rsa_pkcs1_and_pss_signatures() {
    let bench = Bench::new();
    let (public, _) = bench.key_with_certificate("9a", "RSA2048", "/CN=rsa sign");
    let sig = pkcs11_sign(&bench, "01", "SHA256-RSA-PKCS", &[], "sig-pkcs1");
    openssl_verify(&bench, "-sha256", &public, &sig, &[]);

    // pkcs11-tool's PSS defaults: MGF1 with the same hash, salt as long as the digest.
    let sig = pkcs11_sign(&bench, "01", "SHA256-RSA-PKCS-PSS", &[], "sig-pss");
    openssl_verify(
        &bench,
        "-sha256",
        &public,
        &sig,
        &[
            "rsa_padding_mode:pss",
            "rsa_pss_saltlen:32",
            "rsa_mgf1_md:sha256",
        ],
    );
    // Another salt length (pkcs11-tool takes --hash-algorithm and --mgf only for the raw
    // RSA-PKCS-PSS mechanism).
    let sig = pkcs11_sign(
        &bench,
        "01",
        "SHA256-RSA-PKCS-PSS",
        &["--salt-len", "20"],
        "sig-pss-20",
    );
    openssl_verify(
        &bench,
        "-sha256",
        &public,
        &sig,
        &["rsa_padding_mode:pss", "rsa_pss_saltlen:20"],
    );
    // Raw RSA-PKCS-PSS: the host hashes, the token pads and signs the digest.
    let digest = bench.path("message.sha256");
    bench.openssl_ok(&[
        "dgst",
        "-sha256",
        "-binary",
        "-out",
        &digest,
        &bench.path("message"),
    ]);
    let sig = bench.path("sig-raw-pss");
    bench.pkcs11_ok(&[
        "--login",
        "--pin",
        DEFAULT_PIN,
        "--sign",
        "--id",
        "01",
        "-m",
        "RSA-PKCS-PSS",
        "--hash-algorithm",
        "SHA256",
        "--mgf",
        "MGF1-SHA256",
        "-i",
        &digest,
        "-o",
        &sig,
    ]);
    openssl_verify(
        &bench,
        "-sha256",
        &public,
        &sig,
        &["rsa_padding_mode:pss", "rsa_pss_saltlen:32"],
    );
}

#[test]
fn pkcs11_rsa_decrypt_pkcs1_and_oaep() {
    let bench = Bench::new();
    let (public, _) = bench.key_with_certificate("9d", "RSA2048", "/CN=rsa decrypt");
    let plaintext = b"a secret for the key management key";
    bench.write("plain", plaintext);
    let plain = bench.path("plain");
    for (name, pkeyopts, pkcs11_args) in [
        (
            "pkcs1",
            &["rsa_padding_mode:pkcs1"][..],
            &["-m", "RSA-PKCS"][..],
        ),
        // OpenSSL's OAEP default is SHA-1 with MGF1-SHA1; pkcs11-tool's is SHA-256, so name it.
        (
            "oaep-sha1",
            &["rsa_padding_mode:oaep"][..],
            &[
                "-m",
                "RSA-PKCS-OAEP",
                "--hash-algorithm",
                "SHA-1",
                "--mgf",
                "MGF1-SHA1",
            ][..],
        ),
        // pkcs11-tool's default OAEP parameters.
        (
            "oaep-sha256",
            &[
                "rsa_padding_mode:oaep",
                "rsa_oaep_md:sha256",
                "rsa_mgf1_md:sha256",
            ][..],
            &["-m", "RSA-PKCS-OAEP"][..],
        ),
    ] {
        let ct = bench.path(&format!("{name}.ct"));
        let pt = bench.path(&format!("{name}.pt"));
        let mut args = vec![
            "pkeyutl", "-encrypt", "-pubin", "-inkey", &public, "-in", &plain, "-out", &ct,
        ];
        for opt in pkeyopts {
            args.extend_from_slice(&["-pkeyopt", opt]);
        }
        bench.openssl_ok(&args);
        let mut args = vec![
            "--login",
            "--pin",
            DEFAULT_PIN,
            "--decrypt",
            "--id",
            "03",
            "-i",
            &ct,
            "-o",
            &pt,
        ];
        args.extend_from_slice(pkcs11_args);
        bench.pkcs11_ok(&args);
        assert_eq!(
            bench.read(&format!("{name}.pt")),
            plaintext,
            "{name} decryption"
        );
    }
}

#[test]
fn pkcs11_ecdh_derive_matches_openssl() {
    let bench = Bench::new();
    for (algorithm, curve) in [("ECCP256", "P-256"), ("ECCP384", "P-384")] {
        let (public, _) = bench.key_with_certificate("9d", algorithm, &format!("/CN=ecdh {curve}"));
        let (on_card, expected) = bench.pkcs11_ecdh_beside_openssl(curve, &public, DEFAULT_PIN);
        assert_eq!(expected.len(), if curve == "P-256" { 32 } else { 48 });
        assert_eq!(on_card, expected, "ECDH on {curve}");
    }
}
