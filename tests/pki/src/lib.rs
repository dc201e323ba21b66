//! A throwaway PKI for tests, made with the `openssl` command: roots, CAs below them, and
//! S/MIME certificates, for keys openssl makes or for a public key a card made
//! (`x509 -new -force_pubkey` needs no request signed by the key, which stays on the card).
//!
//! Everything lives in one directory the test owns, where openssl runs: for a name `n`,
//! `n.pem` is the certificate, `n.key` the private key, `n.pub` the public key and `n.ext`
//! the extensions. The crate knows only files and paths, so the tests of every crate can
//! use it. Any failure panics with what openssl said: these are fixtures, not code under
//! test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `openssl <args>` in `dir`, whatever the outcome; only a missing openssl fails.
pub fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}): install it: apt-get install openssl"))
}

/// Runs `openssl <args>` in `dir`, which must succeed; returns what it printed.
#[track_caller]
pub fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    String::from_utf8_lossy(&succeeded(dir, args).stdout).into_owned()
}

#[track_caller]
fn succeeded(dir: &Path, args: &[&str]) -> Output {
    let out = openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed in {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The DER encoding of the PEM certificate in `pem`.
pub fn der_of(pem: &Path) -> Vec<u8> {
    succeeded(
        Path::new("."),
        &["x509", "-in", utf8(pem), "-outform", "DER"],
    )
    .stdout
}

/// `openssl cms -verify` of the signed mail `file` in `dir`, trusting the CA certificate
/// `ca` (absolute, or relative to `dir`) for S/MIME signing, whatever the outcome; the
/// content goes to `dir/content.out`.
pub fn verify_mail(dir: &Path, file: &str, ca: &Path) -> Output {
    let args = ["cms", "-verify", "-in", file, "-CAfile", utf8(ca)];
    openssl(
        dir,
        &[&args[..], &["-purpose", "smimesign", "-out", "content.out"]].concat(),
    )
}

/// `openssl cms -encrypt` of the file `input` in `dir` into the mail `out`, with the headers
/// To: bob@example.org and Subject: Plans outside. `options` (the cipher, `-stream`,
/// `-keyid`, `-from …`) come before the recipient's certificate `recipient`, and
/// `key_options` (`-keyopt …`) after it, where openssl takes them for that recipient.
#[track_caller]
pub fn encrypt_mail(
    dir: &Path,
    input: &str,
    out: &str,
    options: &[&str],
    recipient: &str,
    key_options: &[&str],
) {
    let args = ["cms", "-encrypt", "-in", input, "-out", out];
    let headers = ["-to", "bob@example.org", "-subject", "Plans"];
    openssl_ok(
        dir,
        &[
            &args[..],
            &headers,
            options,
            &["-recip", recipient],
            key_options,
        ]
        .concat(),
    );
}

/// Flips the lowest bit of one byte of the CMS structure in the S/MIME mail `file` in
/// `dir`, the byte `at` picks from the structure's DER; the mail is rewritten through
/// openssl's DER form (without -stream, so the DER is what openssl would write).
#[track_caller]
pub fn flip_cms_bit(dir: &Path, file: &str, at: impl FnOnce(&[u8]) -> usize) {
    let der = format!("{file}.der");
    openssl_ok(
        dir,
        &[
            "cms", "-cmsout", "-in", file, "-outform", "DER", "-out", &der,
        ],
    );
    let mut bytes = std::fs::read(dir.join(&der)).unwrap_or_else(|e| panic!("read {der}: {e}"));
    let i = at(&bytes);
    bytes[i] ^= 0x01;
    std::fs::write(dir.join(&der), bytes).unwrap_or_else(|e| panic!("write {der}: {e}"));
    let args = [
        "cms", "-cmsout", "-inform", "DER", "-in", &der, "-outform", "SMIME",
    ];
    openssl_ok(dir, &[&args[..], &["-out", file]].concat());
}

fn utf8(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", path.display()))
}

/// A kind of key for openssl to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    Rsa2048,
    P256,
    P384,
}

impl KeyType {
    /// A new private key in `dir/<name>.key` (PEM); returns its path.
    pub fn generate(self, dir: &Path, name: &str) -> PathBuf {
        let [algorithm, option] = match self {
            KeyType::Rsa2048 => ["RSA", "rsa_keygen_bits:2048"],
            KeyType::P256 => ["EC", "ec_paramgen_curve:P-256"],
            KeyType::P384 => ["EC", "ec_paramgen_curve:P-384"],
        };
        let file = format!("{name}.key");
        let args = ["genpkey", "-algorithm", algorithm, "-pkeyopt", option];
        openssl_ok(dir, &[&args[..], &["-out", &file]].concat());
        dir.join(file)
    }
}

/// What a certificate says besides its key: subject, validity, extensions and how its
/// issuer signs it.
#[derive(Clone, Debug)]
pub struct Profile {
    subject: String,
    days: i32,
    /// openssl extension lines, `name=value`.
    extensions: Vec<String>,
    /// `openssl x509` options for the issuer's signature (digest, `-sigopt`).
    signature: Vec<String>,
}

impl Profile {
    /// `subject` (openssl's `/CN=…/O=…`), valid for 30 days from now, without extensions
    /// (a version 1 certificate).
    pub fn new(subject: &str) -> Profile {
        Profile {
            subject: subject.to_owned(),
            days: 30,
            extensions: Vec::new(),
            signature: Vec::new(),
        }
    }

    /// A CA: basicConstraints CA:true and keyUsage keyCertSign, cRLSign (both critical),
    /// and a subjectKeyIdentifier.
    pub fn ca(subject: &str) -> Profile {
        Profile::new(subject)
            .extension("basicConstraints=critical,CA:true")
            .extension("keyUsage=critical,keyCertSign,cRLSign")
            .extension("subjectKeyIdentifier=hash")
    }

    /// An S/MIME signer for `address`: subjectAltName with the address, keyUsage
    /// digitalSignature and nonRepudiation (critical), extendedKeyUsage emailProtection,
    /// and a subjectKeyIdentifier (a signer may be named by it).
    pub fn signing(subject: &str, address: &str) -> Profile {
        Profile::mail(subject, address, "digitalSignature,nonRepudiation")
    }

    /// An S/MIME recipient for `address`: as [`Profile::signing`], with keyUsage
    /// keyEncipherment only.
    pub fn encryption(subject: &str, address: &str) -> Profile {
        Profile::mail(subject, address, "keyEncipherment")
    }

    fn mail(subject: &str, address: &str, key_usage: &str) -> Profile {
        Profile::new(subject)
            .extension(&format!("subjectAltName=email:{address}"))
            .extension(&format!("keyUsage=critical,{key_usage}"))
            .extension("extendedKeyUsage=emailProtection")
            .extension("subjectKeyIdentifier=hash")
    }

    /// Valid for `days` from now. A negative number makes a certificate that has expired
    /// (its notAfter before now, and before its notBefore).
    pub fn days(mut self, days: i32) -> Profile {
        self.days = days;
        self
    }

    /// Sets the extension `line` (`name=value`, as in an openssl extension file), in place
    /// of the one of that name if there is one.
    pub fn extension(self, line: &str) -> Profile {
        let name = line.split_once('=').map_or(line, |(name, _)| name);
        let mut profile = self.without(name);
        profile.extensions.push(line.to_owned());
        profile
    }

    /// Leaves out the extension `name`.
    pub fn without(mut self, name: &str) -> Profile {
        self.extensions
            .retain(|line| line.split_once('=').map(|(n, _)| n.trim()) != Some(name.trim()));
        self
    }

    /// Signed as the `openssl x509` `options` say, in place of openssl's default
    /// (`["-sha1", "-sigopt", "rsa_padding_mode:pss"]` for RSASSA-PSS with SHA-1).
    pub fn signed_with(mut self, options: &[&str]) -> Profile {
        self.signature = options.iter().map(|o| o.to_string()).collect();
        self
    }

    /// `openssl x509 -new` of `<name>.pem` in `dir` with this profile, the key and the
    /// signature as `key_and_signer` says; returns the certificate's path.
    fn write(&self, dir: &Path, name: &str, key_and_signer: &[&str]) -> PathBuf {
        let (cert, ext) = (format!("{name}.pem"), format!("{name}.ext"));
        let days = self.days.to_string();
        let mut args = vec!["x509", "-new", "-subj", &self.subject, "-days", &days];
        if !self.extensions.is_empty() {
            std::fs::write(dir.join(&ext), self.extensions.join("\n") + "\n")
                .unwrap_or_else(|e| panic!("write {ext}: {e}"));
            args.extend(["-extfile", &ext]);
        }
        args.extend_from_slice(key_and_signer);
        args.extend(self.signature.iter().map(String::as_str));
        args.extend(["-out", &cert]);
        openssl_ok(dir, &args);
        dir.join(cert)
    }
}

/// A certificate and its private key in a test's directory, there to sign others: a CA,
/// or (with a profile that says otherwise) a certificate that acts as one.
#[derive(Clone, Debug)]
pub struct TestCa {
    dir: PathBuf,
    name: String,
}

impl TestCa {
    /// The usual root: "CN=Test Mail CA" with a P-256 key, `ca.pem` and `ca.key` in `dir`.
    pub fn new(dir: &Path) -> TestCa {
        TestCa::self_signed(dir, "ca", KeyType::P256, &Profile::ca("/CN=Test Mail CA"))
    }

    /// A new key and a certificate it signs itself, `<name>.key` and `<name>.pem` in
    /// `dir`: a root with a CA profile, a self-signed end entity with another.
    pub fn self_signed(dir: &Path, name: &str, key: KeyType, profile: &Profile) -> TestCa {
        key.generate(dir, name);
        profile.write(dir, name, &["-key", &format!("{name}.key")]);
        TestCa {
            dir: dir.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The certificate (PEM).
    pub fn cert(&self) -> PathBuf {
        self.dir.join(format!("{}.pem", self.name))
    }

    /// The private key (PEM).
    pub fn key(&self) -> PathBuf {
        self.dir.join(format!("{}.key", self.name))
    }

    /// Certifies the public key in `public_key` (a PEM file, from a card for instance; a
    /// relative path is taken from the CA's directory) as `<name>.pem` there; returns its
    /// path.
    pub fn certify(&self, public_key: &Path, name: &str, profile: &Profile) -> PathBuf {
        let (cert, key) = (format!("{}.pem", self.name), format!("{}.key", self.name));
        profile.write(
            &self.dir,
            name,
            &[
                "-force_pubkey",
                utf8(public_key),
                "-CA",
                &cert,
                "-CAkey",
                &key,
            ],
        )
    }

    /// Certifies the key a PKCS#10 request (PEM) names, once `openssl req -verify` has
    /// checked the request's signature, as `<name>.pem` in the CA's directory; returns its
    /// path. The subject and extensions are the profile's, as a CA's policy decides them.
    pub fn certify_request(&self, request: &Path, name: &str, profile: &Profile) -> PathBuf {
        let public = format!("{name}.pub");
        let args = ["req", "-in", utf8(request), "-verify", "-noout", "-pubkey"];
        openssl_ok(&self.dir, &[&args[..], &["-out", &public]].concat());
        self.certify(Path::new(&public), name, profile)
    }

    /// A new key (`<name>.key`, public part `<name>.pub`) and its certificate `<name>.pem`;
    /// returns the certificate's path.
    pub fn issue(&self, name: &str, key: KeyType, profile: &Profile) -> PathBuf {
        key.generate(&self.dir, name);
        let (private, public) = (format!("{name}.key"), format!("{name}.pub"));
        openssl_ok(
            &self.dir,
            &["pkey", "-in", &private, "-pubout", "-out", &public],
        );
        self.certify(Path::new(&public), name, profile)
    }

    /// A CA below this one, as [`TestCa::issue`] makes it.
    pub fn sub_ca(&self, name: &str, key: KeyType, profile: &Profile) -> TestCa {
        self.issue(name, key, profile);
        TestCa {
            dir: self.dir.clone(),
            name: name.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_of_root_ca_and_signer_verifies_and_an_expired_signer_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let root = TestCa::self_signed(d, "root", KeyType::Rsa2048, &Profile::ca("/CN=Root"));
        let inter = root.sub_ca(
            "inter",
            KeyType::P256,
            &Profile::ca("/CN=Mail CA").extension("basicConstraints=critical,CA:true,pathlen:0"),
        );
        let alice = Profile::signing("/CN=Alice", "alice@example.org");
        inter.issue("alice", KeyType::P384, &alice);
        inter.issue("expired", KeyType::P256, &alice.clone().days(-1));
        let verify = |leaf: &str| {
            openssl(
                d,
                &[
                    "verify",
                    "-CAfile",
                    "root.pem",
                    "-untrusted",
                    "inter.pem",
                    "-purpose",
                    "smimesign",
                    leaf,
                ],
            )
        };
        assert!(verify("alice.pem").status.success());
        assert!(!verify("expired.pem").status.success());
        let text = openssl_ok(d, &["x509", "-in", "alice.pem", "-noout", "-text"]);
        for expected in [
            "email:alice@example.org",
            "Digital Signature, Non Repudiation",
            "E-mail Protection",
            "Issuer: CN = Mail CA",
        ] {
            assert!(text.contains(expected), "{expected}:\n{text}");
        }
        assert_eq!(der_of(&inter.cert())[0], 0x30);
    }

    #[test]
    fn an_extension_replaces_the_one_of_its_name_and_without_removes_it() {
        let profile = Profile::signing("/CN=Carol", "carol@example.org")
            .extension("extendedKeyUsage=clientAuth")
            .without("subjectAltName");
        assert_eq!(
            profile.extensions,
            [
                "keyUsage=critical,digitalSignature,nonRepudiation",
                "subjectKeyIdentifier=hash",
                "extendedKeyUsage=clientAuth",
            ]
        );
    }
}
