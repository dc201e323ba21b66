//! The command line, defined once: every flag's documentation is its `--help`.

use std::path::PathBuf;

use apdu_spec::piv::{Algorithm, PinPolicy, Slot, TouchPolicy};
use clap::{Args, Parser, Subcommand};

use host_driver::ca::Purpose;
use host_driver::hash::HashAlg;
use host_driver::smime::encrypt::{ContentCipher, RsaPadding};

use crate::secrets::{MgmtKeyArgs, NewMgmtKeyArgs, NewPinArgs, NewPukArgs, PinArgs, PukArgs};

const AFTER_HELP: &str = "\
Choosing the card: --reader NAME picks a PC/SC reader by (part of) its name; --sim FILE uses a
simulated card (card-sim) in this process, its state in FILE. Without either, the only PIV card
among the PC/SC readers is used.

Secrets are asked for without echo unless a --*-env NAME or --*-file FILE option names where to
read them; they are never printed or logged. Commands that need the management key use the
factory key (010203040506070801020304050607080102030405060708) unless told otherwise.

Exit codes:
  0  success
  1  any other error
  2  bad arguments or values
  3  no reader, no card, or not a PIV card
  4  wrong or blocked PIN or PUK, or a PIN login lost to a card reset
  5  wrong management key
  6  the card does not support the operation
  7  the signature does not verify (verify, decrypt --ca)
  8  the message cannot be decrypted: it was not encrypted for the card's keys, or it was
     changed, or it is malformed (decrypt)

RUST_LOG=debug logs every command sent to the card by name; only public data is shown,
secrets and data objects by their length.";

/// Manage the PIV smart card that signs and decrypts your S/MIME mail: a YubiKey, any PIV
/// card in a PC/SC reader, or a simulated card.
#[derive(Debug, Parser)]
#[command(name = "smime-card", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub card: CardChoice,

    #[command(subcommand)]
    pub command: Command,
}

/// Which card to talk to.
#[derive(Debug, Args)]
pub struct CardChoice {
    /// Use the card in the PC/SC reader whose name contains NAME (case-insensitive; an
    /// exact name always wins)
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "SMIME_CARD_READER",
        conflicts_with = "sim"
    )]
    pub reader: Option<String>,

    /// Use a simulated card (card-sim) in this process, its state kept in FILE; a missing
    /// FILE becomes a factory-fresh card
    #[arg(long, global = true, value_name = "FILE", env = "SMIME_CARD_SIM")]
    pub sim: Option<PathBuf>,

    /// Record the APDUs exchanged with the card in FILE (created readable by you alone;
    /// emptied if it exists) as JSON lines, PINs, PUKs, management keys and imported keys
    /// redacted; `card-sim replay FILE` serves the session again. Written as the command
    /// goes, so a command that fails leaves its trace. Commands that use no card, and the
    /// demo, write none
    #[arg(long, global = true, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the PC/SC readers; those holding a PIV card are marked with '*'
    Readers,

    /// Manage the card: status, keys, certificates, PIN, PUK and management key
    #[command(subcommand)]
    Card(CardCommand),

    /// Enrol the card for S/MIME: generate the signing key (9c) and the encryption key (9d)
    /// on the card, have the card sign a certificate request for each, and, once their
    /// certificates are on the card, write a fresh CHUID and personalise the card: the new
    /// PIN and PUK, and a random management key stored PIN-protected (as ykman stores it),
    /// so later commands need only the PIN. Run it again to resume where it stopped.
    Enroll {
        /// The e-mail address the certificates are for
        #[arg(long, value_name = "ADDR")]
        email: String,
        /// The certificates' subject name (CN)
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The local CA (`smime-card ca init`) in DIR issues the certificates at once
        #[arg(
            long,
            value_name = "DIR",
            required_unless_present = "csr_out",
            conflicts_with = "csr_out"
        )]
        ca: Option<PathBuf>,
        /// How long the local CA's certificates are valid, in days
        #[arg(long, value_name = "N", default_value_t = 365, requires = "ca")]
        days: u32,
        /// Write the requests (sign.csr.pem, encrypt.csr.pem) to DIR for your CA; store
        /// the certificates it issues with `card import-cert`, then run enroll again
        #[arg(long, value_name = "DIR")]
        csr_out: Option<PathBuf>,
        /// p256, p384 or rsa2048
        #[arg(long, value_name = "ALGORITHM", default_value = "p256", value_parser = parse_enrolment_algorithm)]
        algorithm: Algorithm,
        /// One key in slot 9a for both signing and encryption
        #[arg(long)]
        single_key: bool,
        #[command(flatten)]
        pin: PinArgs,
        #[command(flatten)]
        puk: PukArgs,
        #[command(flatten)]
        new_pin: NewPinArgs,
        #[command(flatten)]
        new_puk: NewPukArgs,
        #[command(flatten)]
        mgmt: MgmtKeyArgs,
    },

    /// Sign a mail message (RFC 5322) with the key and certificate in a slot: S/MIME
    /// multipart/signed, or opaque signed-data with --opaque
    Sign {
        #[command(flatten)]
        mail: SignArgs,
        #[command(flatten)]
        pin: PinArgs,
    },

    /// Encrypt a mail message (RFC 5322) for recipients' certificates: S/MIME
    /// application/pkcs7-mime enveloped-data (AES-CBC) or authEnveloped-data (AES-GCM). The
    /// From, To, Subject and Date headers stay readable. Needs a card only with --self.
    #[command(group = clap::ArgGroup::new("recipients").required(true).multiple(true))]
    Encrypt {
        /// The message to encrypt (a file: its body may be read again, so memory stays flat)
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// The recipients' certificates (PEM, any number in a file, or one DER certificate
        /// per file); each must allow encryption and e-mail
        #[arg(long, value_name = "CERT", num_args = 1.., group = "recipients")]
        to: Vec<PathBuf>,
        /// Encrypt for this card's key management certificate (slot 9d) too, so the sent
        /// copy stays readable
        #[arg(long = "self", group = "recipients")]
        to_self: bool,
        /// Where to write the encrypted message
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        cipher: CipherArgs,
    },

    /// Verify a signed mail message (multipart/signed or opaque): the signature, the
    /// signer's certificate chain to a trusted CA, its use for e-mail and the From address.
    /// Needs no card.
    Verify {
        /// The signed message
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// The trusted CA certificates (PEM, any number, or one DER certificate)
        #[arg(long, value_name = "FILE")]
        ca: PathBuf,
        /// Write the signed content (the MIME entity) to FILE once the signature holds
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },

    /// Show the whole story without hardware, pcscd or OpenSSL: a local CA, two simulated
    /// cards enrolled for SMIME1 and SMIME2, a mail signed by SMIME1 and encrypted to both,
    /// decrypted and verified by SMIME2, and a tampered copy refused. The mails, the
    /// certificates and the cards' state files stay in DIR, and the OpenSSL commands that
    /// check the result are printed at the end
    Demo {
        /// Where to work: an empty or new directory (default: a fresh temporary one, kept)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Run the same story through pcscd: two `card-sim serve` processes on the state
        /// files, in the vpcd readers "Virtual PCD 00 00" and "Virtual PCD 00 01"
        #[arg(long)]
        pcsc: bool,
    },

    /// Run a local S/MIME certificate authority: a root key and certificate in a directory
    /// (or the key on a card), and certificates for requests (PKCS#10)
    #[command(subcommand)]
    Ca(CaCommand),

    /// Decrypt an encrypted mail message (S/MIME enveloped-data or authEnveloped-data) with
    /// the card's key management key (9d) or a retired one (82-95), whichever it was
    /// encrypted for. The message's headers are kept; a signed message inside is verified
    /// with --ca. Nothing is written to --out unless decryption succeeds (and, with --ca,
    /// the signature holds)
    Decrypt {
        #[command(flatten)]
        mail: DecryptArgs,
        #[command(flatten)]
        pin: PinArgs,
    },
}

/// What `sign` signs, how, and where the result goes.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The message to sign (a file: its body may be read again, so memory stays flat)
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Where to write the signed message
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The slot whose key signs (its certificate is sent along)
    #[arg(long, value_name = "SLOT", default_value = "9c")]
    pub slot: Slot,
    /// application/pkcs7-mime signed-data instead of multipart/signed (only S/MIME
    /// clients can show the content)
    #[arg(long)]
    pub opaque: bool,
    /// sha256, sha384 or sha512 (default: SHA-256, SHA-384 for P-384 keys, SHA-512 for
    /// Ed25519)
    #[arg(long, value_name = "DIGEST", value_parser = parse_digest)]
    pub digest: Option<HashAlg>,
    /// Sign with RSA-PSS instead of PKCS#1 v1.5 (RSA keys)
    #[arg(long)]
    pub pss: bool,
    /// Intermediate CA certificates (PEM) to include for the recipient's benefit
    #[arg(long, value_name = "FILE")]
    pub chain: Option<PathBuf>,
    /// Then encrypt the signed message for the recipients whose certificates (PEM or
    /// DER) are in these files
    #[arg(long, value_name = "CERT", num_args = 1..)]
    pub encrypt_to: Vec<PathBuf>,
    /// Then encrypt the signed message for this card's key management certificate
    /// (slot 9d) too, so the sent copy stays readable
    #[arg(long)]
    pub encrypt_self: bool,
    #[command(flatten)]
    pub cipher: CipherArgs,
}

/// What `decrypt` decrypts, with which key, and where the result goes.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The encrypted message
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Where to write the decrypted message
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Only the key in this slot (default: 9d, then the retired slots 82-95)
    #[arg(long, value_name = "SLOT")]
    pub slot: Option<Slot>,
    /// Verify a signed message inside against these trusted CA certificates (PEM, any
    /// number, or one DER certificate)
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

/// How encrypted content and its key are protected.
#[derive(Debug, Args)]
pub struct CipherArgs {
    /// aes256-cbc (the default: every S/MIME client reads it), aes128-cbc, or aes256-gcm
    /// and aes128-gcm (authenticated, so any change is detected; fewer clients read them)
    #[arg(long, value_name = "CIPHER")]
    pub cipher: Option<ContentCipher>,
    /// For RSA recipients: v15 (PKCS#1 v1.5, the default, which every client reads) or oaep
    /// (RSAES-OAEP with SHA-256)
    #[arg(long, value_name = "PADDING")]
    pub rsa_padding: Option<RsaPadding>,
}

impl CipherArgs {
    /// Whether either option was given.
    pub fn given(&self) -> bool {
        self.cipher.is_some() || self.rsa_padding.is_some()
    }
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Show serial, firmware, PIN and PUK tries, the management key, the CHUID and every
    /// slot's key and certificate
    Status,

    /// Generate a key pair in a slot (needs the management key) and print its public key
    Generate {
        #[arg(long, value_name = "SLOT")]
        /// The slot: 9a (authentication), 9c (signature), 9d (key management), 9e, 82-95
        slot: Slot,
        /// p256, p384, rsa2048, rsa3072, rsa4096, rsa1024, ed25519 or x25519 (rsa3072,
        /// rsa4096, ed25519 and x25519 need YubiKey 5.7)
        #[arg(long, value_name = "ALGORITHM", value_parser = parse_key_algorithm)]
        algorithm: Algorithm,
        /// When the key needs the PIN: default, never, once or always
        #[arg(long, value_name = "POLICY")]
        pin_policy: Option<PinPolicy>,
        /// When the key needs a touch: default, never, always or cached
        #[arg(long, value_name = "POLICY")]
        touch_policy: Option<TouchPolicy>,
        /// Write the public key (PEM) to FILE instead of printing it
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        mgmt: MgmtKeyArgs,
        /// The PIN, asked for only where the management key is stored PIN-protected
        #[command(flatten)]
        pin: PinArgs,
    },

    /// Store a certificate (PEM or DER) in a slot (needs the management key)
    ImportCert {
        /// The slot the certificate's key is in
        #[arg(long, value_name = "SLOT")]
        slot: Slot,
        /// The certificate, PEM or DER
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// Store it even if its public key is not the key in the slot
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        mgmt: MgmtKeyArgs,
        /// The PIN, asked for only where the management key is stored PIN-protected
        #[command(flatten)]
        pin: PinArgs,
    },

    /// Print (or write) the certificate in a slot
    ExportCert {
        /// The slot (f9 is the card's attestation certificate)
        #[arg(long, value_name = "SLOT")]
        slot: Slot,
        /// Write to FILE instead of printing
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// DER instead of PEM
        #[arg(long)]
        der: bool,
    },

    /// Delete the certificate and/or the key in a slot (needs the management key)
    #[command(group = clap::ArgGroup::new("what").required(true).multiple(true))]
    Delete {
        /// The slot
        #[arg(long, value_name = "SLOT")]
        slot: Slot,
        /// Delete the key (YubiKey 5.7 and later)
        #[arg(long, group = "what")]
        key: bool,
        /// Delete the certificate
        #[arg(long, group = "what")]
        cert: bool,
        #[command(flatten)]
        mgmt: MgmtKeyArgs,
        /// The PIN, asked for only where the management key is stored PIN-protected
        #[command(flatten)]
        pin: PinArgs,
    },

    /// Check the PIN (a wrong one spends one of its tries)
    VerifyPin {
        #[command(flatten)]
        pin: PinArgs,
    },

    /// Change the PIN (6 to 8 characters)
    ChangePin {
        #[command(flatten)]
        pin: PinArgs,
        #[command(flatten)]
        new_pin: NewPinArgs,
    },

    /// Change the PUK (6 to 8 characters)
    ChangePuk {
        #[command(flatten)]
        puk: PukArgs,
        #[command(flatten)]
        new_puk: NewPukArgs,
    },

    /// Set a new PIN with the PUK, unblocking a blocked PIN
    UnblockPin {
        #[command(flatten)]
        puk: PukArgs,
        #[command(flatten)]
        new_pin: NewPinArgs,
    },

    /// Change the management key (needs the current one)
    SetMgmtKey {
        #[command(flatten)]
        new_key: NewMgmtKeyArgs,
        /// The new key's algorithm: 3des, aes128, aes192 or aes256 (default: the current
        /// key's)
        #[arg(long, value_name = "ALGORITHM", value_parser = parse_management_algorithm)]
        algorithm: Option<Algorithm>,
        /// Require a touch of the card for every use of the new key
        #[arg(long)]
        touch: bool,
        #[command(flatten)]
        mgmt: MgmtKeyArgs,
        /// The PIN, asked for only where the management key is stored PIN-protected
        #[command(flatten)]
        pin: PinArgs,
    },

    /// Reset the PIV application to factory state, erasing all keys and certificates;
    /// the card allows it only once the PIN and the PUK are both blocked
    Reset,

    /// Prove that a slot's key was generated on the card: print and check the card's
    /// attestation, and print (or write) the attestation certificate
    Attest {
        /// The slot
        #[arg(long, value_name = "SLOT")]
        slot: Slot,
        /// Write the attestation certificate (PEM) to FILE instead of printing it
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also require the card's attestation certificate (slot f9) to be issued by one
        /// of the certificates in FILE (PEM, or one DER certificate), e.g. Yubico's roots
        #[arg(long, value_name = "FILE")]
        roots: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create a CA in DIR: a new key (ca.key, readable by you alone) and its self-signed
    /// root certificate (ca.pem). An existing CA is never overwritten
    Init {
        /// The CA's directory (made if missing)
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The CA key: p256, p384, rsa2048, rsa3072 or rsa4096
        #[arg(long, value_name = "ALGORITHM", default_value = "p256", value_parser = parse_key_algorithm, conflicts_with = "ca_card")]
        key: Algorithm,
        /// The CA's name: a common name ("Example Mail CA"), or a distinguished name
        /// ("CN=Example Mail CA,O=Example")
        #[arg(long, value_name = "NAME")]
        name: String,
        /// How long the root certificate is valid
        #[arg(long, value_name = "N", default_value_t = 3650)]
        days: u32,
        /// Use the key in the selected card's slot 9c as the CA key (it must be there;
        /// needs the PIN); the root certificate goes into slot 9c too (needs the management
        /// key), and to ca.pem
        #[arg(long)]
        ca_card: bool,
        #[command(flatten)]
        pin: PinArgs,
        #[command(flatten)]
        mgmt: MgmtKeyArgs,
    },

    /// Issue an S/MIME certificate for a request (PKCS#10, PEM or DER) whose signature
    /// holds and which names the address --email, and no other
    Issue {
        /// The CA's directory
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The certificate request, PEM or DER
        #[arg(long, value_name = "FILE")]
        csr: PathBuf,
        /// The address the certificate is for; the request must name it in its
        /// subjectAltName
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// Where to write the certificate (PEM)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// How long the certificate is valid
        #[arg(long, value_name = "N", default_value_t = 365)]
        days: u32,
        /// What the key is for: sign (digitalSignature, nonRepudiation), encrypt
        /// (keyEncipherment for RSA, keyAgreement for EC) or both
        #[arg(long, value_name = "USAGE", default_value = "both")]
        usage: Purpose,
        /// The CA key is the selected card's slot 9c key (needs the PIN)
        #[arg(long)]
        ca_card: bool,
        #[command(flatten)]
        pin: PinArgs,
    },
}

fn parse_key_algorithm(s: &str) -> Result<Algorithm, String> {
    let algorithm: Algorithm = s.parse()?;
    if algorithm.is_asymmetric() {
        Ok(algorithm)
    } else {
        Err(format!(
            "{algorithm} is a management key algorithm; a slot holds p256, p384, rsa1024, \
             rsa2048, rsa3072, rsa4096, ed25519 or x25519"
        ))
    }
}

fn parse_enrolment_algorithm(s: &str) -> Result<Algorithm, String> {
    match s.parse()? {
        algorithm @ (Algorithm::EccP256 | Algorithm::EccP384 | Algorithm::Rsa2048) => Ok(algorithm),
        other => Err(format!(
            "enrolment makes p256, p384 or rsa2048 keys, which every S/MIME client reads (not {other})"
        )),
    }
}

fn parse_digest(s: &str) -> Result<HashAlg, String> {
    match host_driver::hash::from_name(s) {
        Some(HashAlg::Sha1) | None => Err(format!("unknown digest '{s}' (sha256, sha384, sha512)")),
        Some(alg) => Ok(alg),
    }
}

fn parse_management_algorithm(s: &str) -> Result<Algorithm, String> {
    let algorithm: Algorithm = s.parse()?;
    if algorithm.is_symmetric() {
        Ok(algorithm)
    } else {
        Err(format!(
            "{algorithm} is not a management key algorithm (3des, aes128, aes192, aes256)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn algorithms_are_checked_for_their_use() {
        assert_eq!(parse_key_algorithm("P-256"), Ok(Algorithm::EccP256));
        assert!(parse_key_algorithm("aes128").is_err());
        assert_eq!(parse_management_algorithm("aes192"), Ok(Algorithm::Aes192));
        assert!(parse_management_algorithm("rsa2048").is_err());
    }
}
