//! Mail encrypted by `openssl cms -encrypt` to a key generated on card-sim, decrypted by
//! `smime-card decrypt` through pcscd and vpcd as from a card in a reader; and the failures
//! a user meets there (not a recipient, wrong PIN, a changed message), each with its exit
//! code and no output file.

use std::path::Path;
use std::process::{Command, Output};

use e2e::{SimCard, output_text, smime_card_binary};
use test_pki::{KeyType, Profile, TestCa, flip_cms_bit};

const PIN: &str = "123456";
const CONTENT: &str = "Content-Type: text/plain\r\n\r\nThe plans are in the usual place.\r\n";

/// A card in a reader whose 9d key of `algorithm` is certified as Bob's (`bob.pem`), and
/// a scratch directory with the CA.
struct Bob {
    card: SimCard,
    dir: tempfile::TempDir,
    ca: TestCa,
}

impl Bob {
    fn new(algorithm: &str) -> Bob {
        let dir = tempfile::tempdir().unwrap();
        let bob = Bob {
            card: SimCard::start(),
            ca: TestCa::new(dir.path()),
            dir,
        };
        let generate = ["card", "generate", "--slot", "9d", "--algorithm", algorithm];
        bob.ok(&[&generate[..], &["--out", "bob.pub"]].concat());
        let usage = if algorithm.starts_with("rsa") {
            "keyUsage=critical,keyEncipherment"
        } else {
            "keyUsage=critical,keyAgreement"
        };
        let profile = Profile::encryption("/CN=Bob", "bob@example.org").extension(usage);
        bob.ca.certify(Path::new("bob.pub"), "bob", &profile);
        bob.ok(&["card", "import-cert", "--slot", "9d", "--in", "bob.pem"]);
        std::fs::write(bob.path("content.txt"), CONTENT).unwrap();
        bob
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// `smime-card --reader <the card's reader> <args>` in the test's directory.
    fn smime_card(&self, args: &[&str], pin: &str) -> Output {
        Command::new(smime_card_binary())
            .current_dir(self.dir.path())
            .env_remove("SMIME_CARD_READER")
            .env_remove("SMIME_CARD_SIM")
            .env("CARD_PIN", pin)
            .args(["--reader", self.card.reader.name])
            .args(args)
            .output()
            .expect("smime-card runs")
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.smime_card(args, PIN);
        assert!(
            out.status.success(),
            "smime-card {args:?}: {}\n{}",
            output_text(&out),
            self.card.log()
        );
        output_text(&out)
    }

    /// `openssl cms -encrypt` of the content from Alice to `recipient` (see
    /// [`test_pki::encrypt_mail`]).
    fn encrypt(&self, options: &[&str], recipient: &str, key_options: &[&str], out: &str) {
        let options = [&["-from", "alice@example.org"][..], options].concat();
        let d = self.dir.path();
        test_pki::encrypt_mail(d, "content.txt", out, &options, recipient, key_options);
    }

    fn decrypt(&self, input: &str, pin: &str) -> Output {
        let args = ["decrypt", "--in", input, "--out", "plain.eml"];
        self.smime_card(&[&args[..], &["--pin-env", "CARD_PIN"]].concat(), pin)
    }
}

#[test]
fn openssl_mail_decrypts_on_a_card_in_a_reader() {
    for (algorithm, key_options, cipher) in [
        ("rsa2048", &[][..], "-aes256"),
        (
            "rsa2048",
            &[
                "-keyopt",
                "rsa_padding_mode:oaep",
                "-keyopt",
                "rsa_oaep_md:sha256",
            ][..],
            "-aes-256-gcm",
        ),
        ("p256", &[][..], "-aes-256-gcm"),
        ("p384", &[][..], "-aes256"),
    ] {
        let bob = Bob::new(algorithm);
        for stream in [&[][..], &["-stream"][..]] {
            let options = [&[cipher][..], stream].concat();
            bob.encrypt(&options, "bob.pem", key_options, "mail.eml");
            let report = bob.ok(&[
                "decrypt",
                "--in",
                "mail.eml",
                "--out",
                "plain.eml",
                "--pin-env",
                "CARD_PIN",
            ]);
            assert!(
                report.contains("Decrypted with the key in slot 9d (Key Management) (CN=Bob)"),
                "{algorithm} {options:?}: {report}"
            );
            let plain = std::fs::read_to_string(bob.path("plain.eml")).unwrap();
            assert!(
                plain.contains("From: alice@example.org\r\n")
                    && plain.ends_with(&format!("MIME-Version: 1.0\r\n{CONTENT}")),
                "{algorithm} {options:?}: {plain}"
            );
        }
    }
}

#[test]
fn what_cannot_be_decrypted_is_a_clear_error_with_its_exit_code_and_no_output() {
    let bob = Bob::new("p256");
    let d = bob.dir.path();
    let carol = bob.ca.issue(
        "carol",
        KeyType::P384,
        &Profile::encryption("/CN=Carol", "carol@example.org"),
    );
    bob.encrypt(&["-aes256"], carol.to_str().unwrap(), &[], "carol.eml");
    bob.encrypt(&["-aes-256-gcm"], "bob.pem", &[], "tag.eml");
    flip_cms_bit(d, "tag.eml", |der| der.len() - 1);
    bob.encrypt(&["-aes-256-gcm"], "bob.pem", &[], "ciphertext.eml");
    flip_cms_bit(d, "ciphertext.eml", |der| der.len() - 19);
    bob.encrypt(&["-aes256"], "bob.pem", &[], "good.eml");
    for (mail, pin, code, message) in [
        (
            "carol.eml",
            PIN,
            8,
            "none of these keys can decrypt the message",
        ),
        (
            "tag.eml",
            PIN,
            8,
            "decryption failed: the message was changed",
        ),
        ("ciphertext.eml", PIN, 8, "decryption failed"),
        ("good.eml", "87654321", 4, "wrong PIN, 2 tries left"),
    ] {
        let out = bob.decrypt(mail, pin);
        let text = output_text(&out);
        assert_eq!(out.status.code(), Some(code), "{mail}: {text}");
        assert!(text.contains(message), "{mail}: {text}");
        assert!(!bob.path("plain.eml").exists(), "{mail}: no output file");
    }
    // The right PIN restores the tries, and the message opens.
    let out = bob.decrypt("good.eml", PIN);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(
        std::fs::read_to_string(bob.path("plain.eml"))
            .unwrap()
            .contains("The plans are in the usual place.")
    );
}
