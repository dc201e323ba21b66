//! The hashes the host computes (SHA-1 for legacy interop, SHA-2), one-shot or streaming,
//! with their names and object identifiers.

use const_oid::ObjectIdentifier;
use sha2::Digest;

use crate::oids::{ID_SHA1, ID_SHA256, ID_SHA384, ID_SHA512};
pub use crate::rsa_padding::HashAlg;

/// Every hash, weakest first.
pub const ALL: [HashAlg; 4] = [
    HashAlg::Sha1,
    HashAlg::Sha256,
    HashAlg::Sha384,
    HashAlg::Sha512,
];

/// A running hash of any of the supported algorithms.
pub enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn new(alg: HashAlg) -> Self {
        match alg {
            HashAlg::Sha1 => Self::Sha1(Default::default()),
            HashAlg::Sha256 => Self::Sha256(Default::default()),
            HashAlg::Sha384 => Self::Sha384(Default::default()),
            HashAlg::Sha512 => Self::Sha512(Default::default()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha384(h) => h.finalize().to_vec(),
            Self::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// The hash of `data`.
pub fn digest(alg: HashAlg, data: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(alg);
    h.update(data);
    h.finish()
}

/// The algorithm identifier's OID.
pub fn oid(alg: HashAlg) -> ObjectIdentifier {
    match alg {
        HashAlg::Sha1 => ID_SHA1,
        HashAlg::Sha256 => ID_SHA256,
        HashAlg::Sha384 => ID_SHA384,
        HashAlg::Sha512 => ID_SHA512,
    }
}

pub fn from_oid(oid: ObjectIdentifier) -> Option<HashAlg> {
    ALL.into_iter().find(|&alg| self::oid(alg) == oid)
}

/// "SHA-256" and so on.
pub fn name(alg: HashAlg) -> &'static str {
    match alg {
        HashAlg::Sha1 => "SHA-1",
        HashAlg::Sha256 => "SHA-256",
        HashAlg::Sha384 => "SHA-384",
        HashAlg::Sha512 => "SHA-512",
    }
}

/// Accepts `sha256`, `SHA-256`, `sha-256` (as micalg and command lines spell them).
pub fn from_name(s: &str) -> Option<HashAlg> {
    let key = s.trim().to_ascii_lowercase().replace('-', "");
    ALL.into_iter()
        .find(|&alg| name(alg).to_ascii_lowercase().replace('-', "") == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_oids_round_trip() {
        for alg in ALL {
            assert_eq!(from_oid(oid(alg)), Some(alg));
            assert_eq!(from_name(name(alg)), Some(alg));
            assert_eq!(digest(alg, b"abc").len(), alg.output_len());
        }
        assert_eq!(from_name("sha-384"), Some(HashAlg::Sha384));
        assert_eq!(from_name("md5"), None);
        assert_eq!(
            hex::encode(digest(HashAlg::Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
