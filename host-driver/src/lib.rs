//! The host side: one PIV client for any card, over PC/SC readers or a `card-sim` card in
//! process.
//!
//! [`PivCard`] speaks SP 800-73-4 and uses YubiKey's instructions only where the card
//! answers them. Secrets (PIN, PUK, management key) are wiped after use and never logged.
//!
//! [`smime`] signs, verifies, encrypts and decrypts mail without knowing about cards: it
//! signs and decrypts through traits that [`card_signer`] and [`card_decryptor`] implement
//! for keys on a card, and encrypts with certificates alone. Both sides share what lies below
//! them: [`hash`], [`signing`] (signature schemes), [`public_key`], and [`pki`] (signature
//! and certificate path checks, also used for PIV attestation). Names and addresses from
//! certificates and mail are shown through [`escape`], so they cannot steer a terminal.
//!
//! [`enrolment`] drives a card through S/MIME enrolment: keys born on it, requests it
//! signs, certificates from a CA behind a trait, and the card personalised.
//! [`ca`] is a local certificate authority for S/MIME, card-free like [`smime`]: it signs
//! through the same traits, with a key in a file or a card's key through [`card_signer`].

pub mod ca;
pub mod card_decryptor;
pub mod card_signer;
pub mod enrolment;
pub mod error;
pub mod escape;
pub mod hash;
pub mod oids;
pub mod pem;
pub mod piv;
pub mod pki;
pub mod public_key;
pub mod readers;
pub mod rsa_padding;
pub mod signing;
pub mod smime;
pub mod transport;

pub use error::{Error, Result};
pub use hash::digest;
pub use piv::operations::RsaDecryption;
pub use piv::{Features, PivCard, Secret};
pub use public_key::PublicKey;
pub use signing::SignatureScheme;
#[cfg(feature = "sim")]
pub use transport::InProcess;
pub use transport::{PcscTransport, Traced, Transport, TransportError};
