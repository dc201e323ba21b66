//! S/MIME (RFC 8551): signing into `multipart/signed` or opaque `application/pkcs7-mime`,
//! and verifying both forms against trust anchors.
//!
//! Signing goes through the [`sign::CmsSigner`] trait, so nothing here knows about cards
//! or how to reach them; `crate::card_signer` makes a key on a card one. Signatures and
//! certificate paths are checked with [`crate::pki`].
//!
//! Messages stream: the content is canonicalised and hashed as it is read, so memory
//! stays flat however large the message is.

pub mod attributes;
pub mod base64_stream;
pub mod ber;
pub mod canonical;
pub mod kdf;
pub mod mime;
pub mod sign;
pub mod verify;
