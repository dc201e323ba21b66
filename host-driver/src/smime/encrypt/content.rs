//! Content encryption as the content streams: AES-CBC with PKCS#7 padding (RFC 3565) for
//! EnvelopedData, AES-GCM with a 12-byte nonce and a 16-byte tag (RFC 5084) for
//! AuthEnvelopedData.
//!
//! GCM is built from its parts, CTR and GHASH, because the `aes-gcm` crate takes the whole
//! message at once. Both modes are fed whole blocks, so at most one partial block waits.

use std::fmt;
use std::str::FromStr;

use aes::{Aes128, Aes256};
use cipher::consts::U16;
use cipher::{
    Block, BlockCipherEncrypt, BlockModeEncrypt, InnerIvInit, KeyInit, KeyIvInit, StreamCipher,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911;
use der::asn1::{Any, OctetString};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::EncryptError;

/// The AES block size, in bytes.
const BLOCK: usize = 16;

/// The most a GCM message may hold (NIST SP 800-38D §5.2.1.1: 2^39 − 256 bits), beyond
/// which the 32-bit block counter would repeat.
const GCM_MAX_BYTES: u64 = (1 << 36) - 32;

/// How the content is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentCipher {
    /// AES-256 in CBC mode: EnvelopedData, which every S/MIME client reads.
    #[default]
    Aes256Cbc,
    Aes128Cbc,
    /// AES-256-GCM: AuthEnvelopedData (RFC 5083), which also detects any change to the
    /// ciphertext; fewer clients read it.
    Aes256Gcm,
    Aes128Gcm,
}

impl ContentCipher {
    pub const ALL: [ContentCipher; 4] = [
        Self::Aes256Cbc,
        Self::Aes128Cbc,
        Self::Aes256Gcm,
        Self::Aes128Gcm,
    ];

    /// The content-encryption key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Cbc | Self::Aes128Gcm => 16,
            Self::Aes256Cbc | Self::Aes256Gcm => 32,
        }
    }

    /// Whether the content is authenticated (AuthEnvelopedData) rather than only
    /// encrypted (EnvelopedData).
    pub fn is_authenticated(self) -> bool {
        matches!(self, Self::Aes128Gcm | Self::Aes256Gcm)
    }

    /// The name on the command line: `aes256-cbc` and so on.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes256Cbc => "aes256-cbc",
            Self::Aes128Cbc => "aes128-cbc",
            Self::Aes256Gcm => "aes256-gcm",
            Self::Aes128Gcm => "aes128-gcm",
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Aes256Cbc => rfc5911::ID_AES_256_CBC,
            Self::Aes128Cbc => rfc5911::ID_AES_128_CBC,
            Self::Aes256Gcm => rfc5911::ID_AES_256_GCM,
            Self::Aes128Gcm => rfc5911::ID_AES_128_GCM,
        }
    }
}

impl fmt::Display for ContentCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ContentCipher {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown cipher '{s}' (aes256-cbc, aes128-cbc, aes256-gcm, aes128-gcm)")
            })
    }
}

/// GCMParameters (RFC 5084 §3.2). The tag length is always written: ours is 16, not the
/// default 12.
#[derive(Clone, Debug, Eq, PartialEq, der::Sequence)]
struct GcmParameters {
    nonce: OctetString,
    icv_len: u8,
}

/// A block cipher mode fed whole blocks.
trait Mode {
    /// Encrypts `blocks` (a multiple of the block size) in place.
    fn encrypt_blocks(&mut self, blocks: &mut [u8]);
    /// Encrypts the last partial block (shorter than a block, maybe empty) into `out`, and
    /// returns the authentication tag if the mode makes one.
    fn finish(self: Box<Self>, tail: &[u8], out: &mut Vec<u8>) -> Option<[u8; BLOCK]>;
}

struct Cbc<C: BlockCipherEncrypt<BlockSize = U16>>(cbc::Encryptor<C>);

impl<C: BlockCipherEncrypt<BlockSize = U16>> Mode for Cbc<C> {
    fn encrypt_blocks(&mut self, blocks: &mut [u8]) {
        let (blocks, _) = Block::<C>::slice_as_chunks_mut(blocks);
        self.0.encrypt_blocks(blocks);
    }

    fn finish(mut self: Box<Self>, tail: &[u8], out: &mut Vec<u8>) -> Option<[u8; BLOCK]> {
        // PKCS#7: 1 to 16 bytes that each hold their count; a whole block of them when the
        // content ends on a block boundary.
        let pad = BLOCK - tail.len();
        let mut last = Block::<C>::default();
        last[..tail.len()].copy_from_slice(tail);
        last[tail.len()..].fill(pad as u8);
        self.0.encrypt_block(&mut last);
        out.extend_from_slice(&last);
        None
    }
}

/// GCM with a 96-bit nonce (NIST SP 800-38D §7.1) and no additional authenticated data.
struct Gcm<C: BlockCipherEncrypt<BlockSize = U16>> {
    ctr: ctr::Ctr32BE<C>,
    ghash: GHash,
    /// E(K, J0), which masks the tag.
    tag_mask: Block<C>,
    len: u64,
}

impl<C: BlockCipherEncrypt<BlockSize = U16>> Gcm<C> {
    fn new(cipher: C, nonce: &[u8; 12]) -> Self {
        let mut h = ghash::Key::default();
        cipher.encrypt_block(&mut h);
        let ghash = GHash::new(&h);
        let mut j0 = Block::<C>::default();
        j0[..12].copy_from_slice(nonce);
        j0[15] = 1;
        let mut tag_mask = j0;
        cipher.encrypt_block(&mut tag_mask);
        // The content is encrypted from inc32(J0) on.
        j0[15] = 2;
        let ctr = ctr::Ctr32BE::from_core(ctr::CtrCore::inner_iv_init(cipher, &j0));
        Self {
            ctr,
            ghash,
            tag_mask,
            len: 0,
        }
    }
}

impl<C: BlockCipherEncrypt<BlockSize = U16>> Mode for Gcm<C> {
    fn encrypt_blocks(&mut self, blocks: &mut [u8]) {
        self.ctr.apply_keystream(blocks);
        self.ghash.update_padded(blocks);
        self.len += blocks.len() as u64;
    }

    fn finish(mut self: Box<Self>, tail: &[u8], out: &mut Vec<u8>) -> Option<[u8; BLOCK]> {
        let start = out.len();
        out.extend_from_slice(tail);
        self.encrypt_blocks(&mut out[start..]);
        let mut lengths = ghash::Block::default();
        lengths[8..].copy_from_slice(&(self.len * 8).to_be_bytes());
        self.ghash.update(&[lengths]);
        let mut tag = [0; BLOCK];
        for ((t, g), m) in tag
            .iter_mut()
            .zip(self.ghash.finalize().iter())
            .zip(self.tag_mask.iter())
        {
            *t = g ^ m;
        }
        Some(tag)
    }
}

/// Encrypts content as it streams, with a fresh random key and IV or nonce.
pub(super) struct ContentEncryptor {
    mode: Box<dyn Mode>,
    key: Zeroizing<Vec<u8>>,
    algorithm: AlgorithmIdentifierOwned,
    /// Plaintext short of a whole block, waiting for more.
    pending: Vec<u8>,
    authenticated: bool,
    total: u64,
}

impl ContentEncryptor {
    pub(super) fn new(cipher: ContentCipher) -> Result<Self, EncryptError> {
        let mut key = Zeroizing::new(vec![0; cipher.key_len()]);
        getrandom::fill(&mut key).map_err(EncryptError::Random)?;
        const KEY_LEN: &str = "the key has the cipher's length";
        let (mode, parameters): (Box<dyn Mode>, Any) = if cipher.is_authenticated() {
            let mut nonce = [0; 12];
            getrandom::fill(&mut nonce).map_err(EncryptError::Random)?;
            let mode: Box<dyn Mode> = match cipher {
                ContentCipher::Aes128Gcm => Box::new(Gcm::new(
                    Aes128::new_from_slice(&key).expect(KEY_LEN),
                    &nonce,
                )),
                _ => Box::new(Gcm::new(
                    Aes256::new_from_slice(&key).expect(KEY_LEN),
                    &nonce,
                )),
            };
            let parameters = GcmParameters {
                nonce: OctetString::new(nonce)?,
                icv_len: BLOCK as u8,
            };
            (mode, Any::encode_from(&parameters)?)
        } else {
            let mut iv = [0; BLOCK];
            getrandom::fill(&mut iv).map_err(EncryptError::Random)?;
            let mode: Box<dyn Mode> = match cipher {
                ContentCipher::Aes128Cbc => Box::new(Cbc(
                    cbc::Encryptor::<Aes128>::new_from_slices(&key, &iv).expect(KEY_LEN),
                )),
                _ => Box::new(Cbc(
                    cbc::Encryptor::<Aes256>::new_from_slices(&key, &iv).expect(KEY_LEN)
                )),
            };
            (mode, Any::encode_from(&OctetString::new(iv)?)?)
        };
        Ok(Self {
            mode,
            key,
            algorithm: AlgorithmIdentifierOwned {
                oid: cipher.oid(),
                parameters: Some(parameters),
            },
            pending: Vec::with_capacity(BLOCK),
            authenticated: cipher.is_authenticated(),
            total: 0,
        })
    }

    /// The content-encryption key, for the recipient infos to carry.
    pub(super) fn key(&self) -> &[u8] {
        &self.key
    }

    /// The content-encryption algorithm with its IV or nonce, as a reader needs it.
    pub(super) fn algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.algorithm
    }

    /// Appends to `out` the ciphertext of `plaintext`'s whole blocks; the rest waits.
    pub(super) fn update(
        &mut self,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EncryptError> {
        self.total += plaintext.len() as u64;
        if self.authenticated && self.total > GCM_MAX_BYTES {
            return Err(EncryptError::TooLarge);
        }
        let start = out.len();
        out.extend_from_slice(&self.pending);
        out.extend_from_slice(plaintext);
        let whole = (out.len() - start) / BLOCK * BLOCK;
        self.pending.clear();
        self.pending.extend_from_slice(&out[start + whole..]);
        out.truncate(start + whole);
        self.mode.encrypt_blocks(&mut out[start..]);
        Ok(())
    }

    /// Appends the last ciphertext to `out`; returns the tag of an authenticated mode.
    pub(super) fn finish(self, out: &mut Vec<u8>) -> Option<[u8; BLOCK]> {
        self.mode.finish(&self.pending, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encrypts `plaintext` fed in pieces of `piece` bytes with a fixed mode.
    fn run(
        mode: Box<dyn Mode>,
        authenticated: bool,
        plaintext: &[u8],
        piece: usize,
    ) -> (Vec<u8>, Option<[u8; 16]>) {
        let mut encryptor = ContentEncryptor {
            mode,
            key: Zeroizing::new(Vec::new()),
            algorithm: AlgorithmIdentifierOwned {
                oid: rfc5911::ID_DATA,
                parameters: None,
            },
            pending: Vec::new(),
            authenticated,
            total: 0,
        };
        let mut out = Vec::new();
        for chunk in plaintext.chunks(piece) {
            encryptor.update(chunk, &mut out).unwrap();
        }
        let tag = encryptor.finish(&mut out);
        (out, tag)
    }

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// NIST SP 800-38A F.2.1 (CBC-AES128.Encrypt), its first two blocks, then a whole
    /// block of PKCS#7 padding; and 24 bytes padded with 8 (those blocks from Python's
    /// `cryptography`).
    #[test]
    fn cbc_matches_sp_800_38a_and_pads_with_pkcs7() {
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        let iv = h("000102030405060708090a0b0c0d0e0f");
        let plaintext = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let cbc = || {
            Box::new(Cbc(
                cbc::Encryptor::<Aes128>::new_from_slices(&key, &iv).unwrap()
            ))
        };
        for piece in [1, 7, 16, 32] {
            let (out, tag) = run(cbc(), false, &plaintext, piece);
            assert_eq!(
                hex::encode(&out),
                concat!(
                    "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2",
                    "55e21d7100b988ffec32feeafaf23538",
                )
            );
            assert_eq!(tag, None);
        }
        let (out, _) = run(cbc(), false, &plaintext[..24], 5);
        assert_eq!(
            hex::encode(&out),
            "7649abac8119b246cee98e9b12e9197d6203e812b18cd55999b5f24094254679"
        );
    }

    /// The GCM specification's test case 3 (AES-128, 96-bit IV, 64 bytes, no AAD), and
    /// its first 60 bytes for a partial last block (that tag from Python's `cryptography`).
    #[test]
    fn gcm_matches_the_specifications_test_vector_however_the_content_is_cut() {
        let key = h("feffe9928665731c6d6a8f9467308308");
        let nonce: [u8; 12] = h("cafebabefacedbaddecaf888").try_into().unwrap();
        let plaintext = h(concat!(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        ));
        let ciphertext = concat!(
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e",
            "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
        );
        let gcm = || Box::new(Gcm::new(Aes128::new_from_slice(&key).unwrap(), &nonce));
        for piece in [1, 5, 16, 64] {
            let (out, tag) = run(gcm(), true, &plaintext, piece);
            assert_eq!(hex::encode(&out), ciphertext);
            assert_eq!(
                hex::encode(tag.unwrap()),
                "4d5c2af327cd64a62cf35abd2ba6fab4"
            );
        }
        let (out, tag) = run(gcm(), true, &plaintext[..60], 7);
        assert_eq!(hex::encode(&out), ciphertext[..120]);
        assert_eq!(
            hex::encode(tag.unwrap()),
            "cc15abcc191161501aabab46b8fbac85"
        );
    }

    #[test]
    fn cipher_names_round_trip() {
        for cipher in ContentCipher::ALL {
            assert_eq!(cipher.name().parse::<ContentCipher>(), Ok(cipher));
        }
        assert!("des-cbc".parse::<ContentCipher>().is_err());
    }
}
