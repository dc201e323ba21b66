//! The hashes the host computes (SHA-1 for legacy interop, SHA-2), one-shot or streaming,
//! with their lengths, names and object identifiers.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use sha2::Digest;

/// A hash function.
///
/// SHA-1 is here for OAEP and PSS interoperability (OpenSSL, OpenSC and PKCS#11 callers
/// still default to SHA-1 for OAEP and for MGF1) and for legacy PKCS#1 v1.5 signatures; new
/// signatures should use the SHA-2 family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-1 (20-byte output).
    Sha1,
    /// SHA-256 (32-byte output).
    Sha256,
    /// SHA-384 (48-byte output).
    Sha384,
    /// SHA-512 (64-byte output).
    Sha512,
}

impl HashAlg {
    /// The length of the hash output in bytes (`hLen`).
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The DER encoding of `DigestInfo` up to (not including) the hash value: the prefix
    /// listed in RFC 8017 §9.2, note 1.
    #[must_use]
    pub const fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Self::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ],
            Self::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Self::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Self::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

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
        let mut out = vec![0; self.alg().output_len()];
        self.finish_into(&mut out);
        out
    }

    /// Writes the hash into `out`, which must be the algorithm's output length: a caller
    /// hashing secrets keeps the result in memory it wipes.
    pub fn finish_into(self, out: &mut [u8]) {
        use sha2::digest::DynDigest;
        match self {
            Self::Sha1(h) => DynDigest::finalize_into(h, out),
            Self::Sha256(h) => DynDigest::finalize_into(h, out),
            Self::Sha384(h) => DynDigest::finalize_into(h, out),
            Self::Sha512(h) => DynDigest::finalize_into(h, out),
        }
        .expect("the output buffer has the hash's length")
    }

    fn alg(&self) -> HashAlg {
        match self {
            Self::Sha1(_) => HashAlg::Sha1,
            Self::Sha256(_) => HashAlg::Sha256,
            Self::Sha384(_) => HashAlg::Sha384,
            Self::Sha512(_) => HashAlg::Sha512,
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
        HashAlg::Sha1 => rfc5912::ID_SHA_1,
        HashAlg::Sha256 => rfc5912::ID_SHA_256,
        HashAlg::Sha384 => rfc5912::ID_SHA_384,
        HashAlg::Sha512 => rfc5912::ID_SHA_512,
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
