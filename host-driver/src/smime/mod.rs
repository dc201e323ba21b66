//! S/MIME (RFC 8551): signing into `multipart/signed` or opaque `application/pkcs7-mime`,
//! verifying both forms against trust anchors, encrypting for recipients' certificates,
//! and decrypting enveloped mail.
//!
//! Signing goes through the [`sign::CmsSigner`] trait and decrypting through the
//! [`decrypt::Decryptor`] trait, so nothing here knows about cards or how to reach them;
//! `crate::card_signer` and `crate::card_decryptor` make keys on a card both. Encrypting
//! needs only certificates. Signatures and certificate paths are checked with
//! [`crate::pki`].
//!
//! Messages stream: the content is canonicalised, hashed, encrypted or decrypted as it is
//! read, so memory stays flat however large the message is.

pub mod attributes;
pub mod base64_stream;
pub mod ber;
pub mod ber_reader;
pub mod ber_writer;
pub mod canonical;
pub mod decrypt;
pub mod encrypt;
pub mod entity;
pub mod kdf;
pub mod mime;
pub mod rewind;
pub mod sign;
pub mod verify;
