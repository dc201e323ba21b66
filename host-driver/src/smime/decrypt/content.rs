//! The content ciphers, decrypting as the content streams: AES-CBC (RFC 3565) in an
//! EnvelopedData, AES-GCM (RFC 5084) in an AuthEnvelopedData.
//!
//! CBC decrypts block by block and holds back only the last block, whose padding is checked
//! (in constant time) at the end. CBC has no integrity: a changed message mostly fails the
//! padding check, but not always, and that is the mode's nature.
//!
//! GCM must not release a byte before its tag is checked, and the tag comes after the
//! content. The ciphertext (never the plaintext) waits in a private temporary file, in
//! memory while it is small, and GHASH takes it in as it arrives; once the stream has ended,
//! the tag is checked and only then is the ciphertext decrypted into the output. GCM's counter mode and GHASH are written out here
//! from `ctr` and `ghash` because the `aes-gcm` crate decrypts whole buffers only.

use std::io::{self, Read, Seek, SeekFrom, Write};

use aes::{Aes128, Aes192, Aes256};
use cipher::array::Array;
use cipher::consts::U16;
use cipher::{
    BlockCipherDecrypt, BlockCipherEncrypt, BlockModeDecrypt, BlockSizeUser, InnerIvInit, KeyInit,
    KeyIvInit, StreamCipher,
};
use const_oid::db::rfc5911;
use der::Sequence;
use der::asn1::OctetString;
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use spki::AlgorithmIdentifierOwned;
use subtle::{ConstantTimeEq, ConstantTimeGreater, ConstantTimeLess};

use super::envelope::Envelope;
use super::{DecryptError, malformed};
use crate::oids;
use crate::smime::ber_reader::BerReader;

/// The content is read and written in pieces of this size (a multiple of the block).
const CHUNK: usize = 64 << 10;

/// The most content one GCM key and nonce can encrypt (NIST SP 800-38D): 2^32 - 2 blocks.
const GCM_MAX_BYTES: u64 = (1 << 36) - 32;

/// GCM ciphertext up to this size waits in memory, larger in a temporary file.
const SPILL_IN_MEMORY: usize = 1 << 20;

const BLOCK: usize = 16;

/// GCMParameters (RFC 5084 §3.2).
#[derive(Sequence)]
struct GcmParameters {
    nonce: OctetString,
    /// The tag length; 12 when absent.
    #[asn1(optional = "true")]
    icv_len: Option<u8>,
}

/// How the content was encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ContentCipher {
    Cbc {
        key_len: usize,
        iv: [u8; BLOCK],
    },
    Gcm {
        key_len: usize,
        nonce: [u8; 12],
        tag_len: usize,
    },
}

impl ContentCipher {
    /// The cipher `algorithm` names, which must suit the envelope (GCM for an
    /// AuthEnvelopedData, CBC otherwise).
    pub(super) fn from_algorithm(
        algorithm: &AlgorithmIdentifierOwned,
        authenticated: bool,
    ) -> Result<Self, DecryptError> {
        let parameters = || {
            algorithm
                .parameters
                .as_ref()
                .ok_or_else(|| malformed("the content-encryption algorithm has no parameters"))
        };
        let cipher = match algorithm.oid {
            rfc5911::ID_AES_128_CBC | rfc5911::ID_AES_192_CBC | rfc5911::ID_AES_256_CBC => {
                let iv = parameters()?
                    .decode_as::<OctetString>()
                    .ok()
                    .and_then(|iv| <[u8; BLOCK]>::try_from(iv.as_bytes()).ok())
                    .ok_or_else(|| malformed("the CBC initialisation vector is not 16 bytes"))?;
                Self::Cbc {
                    key_len: key_len(algorithm.oid),
                    iv,
                }
            }
            rfc5911::ID_AES_128_GCM | rfc5911::ID_AES_192_GCM | rfc5911::ID_AES_256_GCM => {
                let params = parameters()?
                    .decode_as::<GcmParameters>()
                    .map_err(|e| malformed(format!("the GCM parameters cannot be read: {e}")))?;
                let nonce = <[u8; 12]>::try_from(params.nonce.as_bytes()).map_err(|_| {
                    DecryptError::Unsupported(
                        "a GCM nonce of other than 12 bytes (RFC 5084 recommends 12)".into(),
                    )
                })?;
                let tag_len = usize::from(params.icv_len.unwrap_or(12));
                if !(12..=16).contains(&tag_len) {
                    return Err(malformed(format!(
                        "a GCM tag of {tag_len} bytes (RFC 5084 allows 12 to 16)"
                    )));
                }
                Self::Gcm {
                    key_len: key_len(algorithm.oid),
                    nonce,
                    tag_len,
                }
            }
            other => {
                return Err(DecryptError::Unsupported(format!(
                    "content encrypted with {} (AES-CBC and AES-GCM are supported)",
                    oids::name(other)
                )));
            }
        };
        match (&cipher, authenticated) {
            (Self::Cbc { .. }, false) | (Self::Gcm { .. }, true) => Ok(cipher),
            (Self::Cbc { .. }, true) => Err(malformed(
                "an authenticated envelope with CBC, which cannot authenticate",
            )),
            (Self::Gcm { .. }, false) => Err(malformed(
                "GCM in an EnvelopedData, which has no place for its tag",
            )),
        }
    }

    pub(super) fn key_len(&self) -> usize {
        match self {
            Self::Cbc { key_len, .. } | Self::Gcm { key_len, .. } => *key_len,
        }
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            Self::Cbc { key_len: 16, .. } => "AES-128-CBC",
            Self::Cbc { key_len: 24, .. } => "AES-192-CBC",
            Self::Cbc { .. } => "AES-256-CBC",
            Self::Gcm { key_len: 16, .. } => "AES-128-GCM",
            Self::Gcm { key_len: 24, .. } => "AES-192-GCM",
            Self::Gcm { .. } => "AES-256-GCM",
        }
    }

    /// Decrypts the envelope's content with `key` into `output`, and reads the rest of the
    /// structure.
    pub(super) fn decrypt<R: Read>(
        &self,
        key: &[u8],
        reader: &mut BerReader<R>,
        envelope: &mut Envelope,
        output: &mut dyn Write,
    ) -> Result<(), DecryptError> {
        let mut chunk = vec![0u8; CHUNK];
        match self {
            Self::Cbc { iv, .. } => {
                let mut cbc = CbcDecryptor::new(key, iv);
                loop {
                    let n = envelope.read_content(reader, &mut chunk)?;
                    if n == 0 {
                        break;
                    }
                    cbc.update(&chunk[..n], output)?;
                }
                cbc.finish(output)?;
                envelope.read_trailer(reader)?;
                Ok(())
            }
            Self::Gcm { nonce, tag_len, .. } => {
                let mut gcm = GcmDecryptor::new(key, nonce);
                // GHASH takes the ciphertext as it arrives, as if there were no
                // authenticated attributes (what this crate and OpenSSL write): a pass
                // over the spooled ciphertext saved. They would come after the content
                // (RFC 5083 §2.1); a message with them has its spool hashed again.
                let mut ghash = gcm.ghash(&[]);
                let mut ciphertext = tempfile::SpooledTempFile::new(SPILL_IN_MEMORY);
                let mut spooled: u64 = 0;
                loop {
                    let n = envelope.read_content(reader, &mut chunk)?;
                    if n == 0 {
                        break;
                    }
                    // GCM's 32-bit block counter covers 2^36 - 32 bytes; more is no GCM
                    // message, and must not fill the disk on its way to being refused.
                    spooled += n as u64;
                    if spooled > GCM_MAX_BYTES {
                        return Err(malformed("the GCM content is longer than GCM allows"));
                    }
                    ghash.update(&chunk[..n]);
                    ciphertext.write_all(&chunk[..n])?;
                }
                let trailer = envelope.read_trailer(reader)?;
                let tag = trailer
                    .mac
                    .ok_or_else(|| malformed("the authentication tag is missing"))?;
                if tag.len() != *tag_len {
                    return Err(malformed(format!(
                        "the authentication tag has {} bytes, its parameters say {tag_len}",
                        tag.len()
                    )));
                }
                let matches = match trailer.auth_attrs {
                    None => gcm.tag_is(ghash, &tag),
                    Some(aad) => {
                        ciphertext.seek(SeekFrom::Start(0))?;
                        gcm.tag_matches(&aad, &mut ciphertext, &mut chunk, &tag)?
                    }
                };
                if !matches {
                    return Err(DecryptError::Failed);
                }
                ciphertext.seek(SeekFrom::Start(0))?;
                loop {
                    let n = read_full(&mut ciphertext, &mut chunk)?;
                    if n == 0 {
                        return Ok(());
                    }
                    gcm.keystream(&mut chunk[..n]);
                    output.write_all(&chunk[..n])?;
                }
            }
        }
    }
}

fn key_len(oid: const_oid::ObjectIdentifier) -> usize {
    match oid {
        rfc5911::ID_AES_128_CBC | rfc5911::ID_AES_128_GCM => 16,
        rfc5911::ID_AES_192_CBC | rfc5911::ID_AES_192_GCM => 24,
        _ => 32,
    }
}

/// Fills `buf` as far as the input goes; the count is short only at its end.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Runs `$make::<AesN>($args)` for the AES of a 16-, 24- or 32-byte key.
macro_rules! with_aes {
    ($key:expr, $make:ident($($arg:expr),*)) => {
        match $key.len() {
            16 => $make::<Aes128>($($arg),*),
            24 => $make::<Aes192>($($arg),*),
            _ => $make::<Aes256>($($arg),*),
        }
    };
}

/// A function applied to whole blocks in place (a mode with its key and state).
type Blocks = Box<dyn FnMut(&mut [u8])>;

/// AES-CBC decryption, holding back the last block until the end.
struct CbcDecryptor {
    blocks: Blocks,
    pending: Vec<u8>,
}

impl CbcDecryptor {
    fn new(key: &[u8], iv: &[u8; BLOCK]) -> Self {
        fn make<C: BlockCipherDecrypt + KeyInit + 'static>(key: &[u8], iv: &[u8]) -> Blocks {
            let mut mode = cbc::Decryptor::<C>::new_from_slices(key, iv)
                .expect("AES key and IV lengths were checked");
            Box::new(move |data| {
                let (blocks, _) = Array::slice_as_chunks_mut(data);
                mode.decrypt_blocks(blocks);
            })
        }
        Self {
            blocks: with_aes!(key, make(key, iv)),
            pending: Vec::with_capacity(CHUNK + BLOCK),
        }
    }

    /// Decrypts what it can of `data` into `output`, keeping the last block back.
    fn update(&mut self, data: &[u8], output: &mut dyn Write) -> io::Result<()> {
        self.pending.extend_from_slice(data);
        let ready = self.pending.len().saturating_sub(1) / BLOCK * BLOCK;
        (self.blocks)(&mut self.pending[..ready]);
        output.write_all(&self.pending[..ready])?;
        self.pending.drain(..ready);
        Ok(())
    }

    /// Decrypts the last block and writes it without its padding.
    fn finish(mut self, output: &mut dyn Write) -> Result<(), DecryptError> {
        let Ok(last) = <&mut [u8; BLOCK]>::try_from(&mut self.pending[..]) else {
            // Empty, or not whole blocks: never what CBC makes.
            return Err(DecryptError::Failed);
        };
        (self.blocks)(last);
        // RFC 5652 §6.3: 1 to 16 bytes, each holding the count. Checked in constant time,
        // as with any padding that decides between one error and another.
        let pad = last[BLOCK - 1];
        let mut valid = !pad.ct_eq(&0) & !pad.ct_gt(&(BLOCK as u8));
        for (i, &b) in last.iter().rev().enumerate() {
            let in_padding = (i as u8).ct_lt(&pad);
            valid &= !in_padding | b.ct_eq(&pad);
        }
        if !bool::from(valid) {
            return Err(DecryptError::Failed);
        }
        output.write_all(&last[..BLOCK - usize::from(pad)])?;
        Ok(())
    }
}

/// AES-GCM decryption (NIST SP 800-38D) with a 96-bit nonce.
struct GcmDecryptor {
    keystream: Blocks,
    /// H, the GHASH key.
    hash_key: [u8; BLOCK],
    /// E(K, J0), which masks the tag.
    tag_mask: [u8; BLOCK],
}

impl GcmDecryptor {
    fn new(key: &[u8], nonce: &[u8; 12]) -> Self {
        fn make<C: BlockCipherEncrypt + BlockSizeUser<BlockSize = U16> + KeyInit + 'static>(
            key: &[u8],
            nonce: &[u8; 12],
        ) -> GcmDecryptor {
            let cipher = C::new_from_slice(key).expect("the AES key length was checked");
            let mut hash_key = Array::default();
            cipher.encrypt_block(&mut hash_key);
            let mut j0 = [0u8; BLOCK];
            j0[..12].copy_from_slice(nonce);
            j0[BLOCK - 1] = 1;
            let mut tag_mask = Array::from(j0);
            cipher.encrypt_block(&mut tag_mask);
            // The content's counter blocks start at inc32(J0).
            let mut counter = j0;
            counter[BLOCK - 1] = 2;
            let core = ctr::CtrCore::<C, ctr::flavors::Ctr32BE>::inner_iv_init(
                cipher,
                &Array::from(counter),
            );
            let mut ctr = ctr::Ctr32BE::<C>::from_core(core);
            GcmDecryptor {
                keystream: Box::new(move |data| ctr.apply_keystream(data)),
                hash_key: hash_key.into(),
                tag_mask: tag_mask.into(),
            }
        }
        with_aes!(key, make(key, nonce))
    }

    /// GHASH keyed for this message, having taken in `aad`; the ciphertext comes next.
    fn ghash(&self, aad: &[u8]) -> GhashStream {
        GhashStream::new(&self.hash_key, aad)
    }

    /// Whether `tag` is GCM's tag over what `ghash` took in.
    fn tag_is(&self, ghash: GhashStream, tag: &[u8]) -> bool {
        let mut expected = ghash.finish();
        for (e, m) in expected.iter_mut().zip(self.tag_mask) {
            *e ^= m;
        }
        bool::from(expected[..tag.len()].ct_eq(tag))
    }

    /// Whether `tag` is GCM's tag over `aad` and the ciphertext `input` holds, read in
    /// pieces through `buf`.
    fn tag_matches(
        &self,
        aad: &[u8],
        input: &mut impl Read,
        buf: &mut [u8],
        tag: &[u8],
    ) -> io::Result<bool> {
        let mut ghash = self.ghash(aad);
        loop {
            let n = read_full(input, buf)?;
            if n == 0 {
                break;
            }
            ghash.update(&buf[..n]);
        }
        Ok(self.tag_is(ghash, tag))
    }

    /// Decrypts `data` in place (the next piece of the content).
    fn keystream(&mut self, data: &mut [u8]) {
        (self.keystream)(data);
    }
}

/// GHASH over the additional data and then the ciphertext, which may come in pieces of
/// any length: only the end of each part is padded to a block.
struct GhashStream {
    ghash: GHash,
    /// The start of a block of ciphertext, waiting for its end.
    partial: [u8; BLOCK],
    partial_len: usize,
    aad_len: u64,
    len: u64,
}

impl GhashStream {
    fn new(hash_key: &[u8; BLOCK], aad: &[u8]) -> Self {
        let mut ghash = GHash::new(&Array::from(*hash_key));
        ghash.update_padded(aad);
        Self {
            ghash,
            partial: [0; BLOCK],
            partial_len: 0,
            aad_len: aad.len() as u64,
            len: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.partial_len > 0 {
            let take = (BLOCK - self.partial_len).min(data.len());
            self.partial[self.partial_len..self.partial_len + take].copy_from_slice(&data[..take]);
            self.partial_len += take;
            data = &data[take..];
            if self.partial_len < BLOCK {
                return;
            }
            self.ghash.update(&[Array::from(self.partial)]);
            self.partial_len = 0;
        }
        let (blocks, rest) = Array::slice_as_chunks(data);
        self.ghash.update(blocks);
        self.partial[..rest.len()].copy_from_slice(rest);
        self.partial_len = rest.len();
    }

    /// The hash, with the lengths block; still to be masked.
    fn finish(mut self) -> [u8; BLOCK] {
        self.ghash.update_padded(&self.partial[..self.partial_len]);
        let mut lengths = [0u8; BLOCK];
        lengths[..8].copy_from_slice(&(self.aad_len * 8).to_be_bytes());
        lengths[8..].copy_from_slice(&(self.len * 8).to_be_bytes());
        self.ghash.update(&[Array::from(lengths)]);
        self.ghash.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    /// NIST's GCM test case 3 (AES-128) and 16 (AES-256 with AAD), as in the GCM spec's
    /// appendix B, decrypted in pieces.
    #[test]
    fn gcm_agrees_with_the_published_test_vectors() {
        let cases = [
            (
                "feffe9928665731c6d6a8f9467308308",
                "cafebabefacedbaddecaf888",
                "",
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
                "4d5c2af327cd64a62cf35abd2ba6fab4",
                "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
            ),
            (
                "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
                "cafebabefacedbaddecaf888",
                "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                "76fc6ece0f4e1768cddf8853bb2d551b",
                "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            ),
        ];
        for (key, nonce, aad, ciphertext, tag, plaintext) in cases {
            let nonce: [u8; 12] = h(nonce).try_into().unwrap();
            let ciphertext = h(ciphertext);
            let mut buf = vec![0u8; 32];
            let mut gcm = GcmDecryptor::new(&h(key), &nonce);
            assert!(
                gcm.tag_matches(&h(aad), &mut &ciphertext[..], &mut buf, &h(tag))
                    .unwrap()
            );
            for piece in [1, 5, 16, 17] {
                let mut ghash = gcm.ghash(&h(aad));
                ciphertext.chunks(piece).for_each(|c| ghash.update(c));
                assert!(gcm.tag_is(ghash, &h(tag)), "pieces of {piece}");
            }
            let mut flipped = ciphertext.clone();
            flipped[7] ^= 1;
            assert!(
                !gcm.tag_matches(&h(aad), &mut &flipped[..], &mut buf, &h(tag))
                    .unwrap()
            );
            let mut data = ciphertext.clone();
            let (first, rest) = data.split_at_mut(16);
            gcm.keystream(first);
            gcm.keystream(rest);
            assert_eq!(hex::encode(data), plaintext);
        }
    }

    fn cbc_decrypt(key: &[u8], iv: &[u8; 16], ciphertext: &[u8], piece: usize) -> Option<Vec<u8>> {
        let mut cbc = CbcDecryptor::new(key, iv);
        let mut out = Vec::new();
        for chunk in ciphertext.chunks(piece) {
            cbc.update(chunk, &mut out).unwrap();
        }
        cbc.finish(&mut out).ok().map(|()| out)
    }

    fn cbc_encrypt(key: &[u8], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
        use cipher::BlockModeEncrypt;
        let pad = 16 - plaintext.len() % 16;
        let mut data = plaintext.to_vec();
        data.resize(plaintext.len() + pad, pad as u8);
        let mut mode = cbc::Encryptor::<Aes256>::new_from_slices(key, iv).unwrap();
        let (blocks, _) = Array::slice_as_chunks_mut(&mut data);
        mode.encrypt_blocks(blocks);
        data
    }

    #[test]
    fn cbc_streams_in_any_pieces_and_checks_the_padding() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        for len in [0, 1, 15, 16, 17, 100] {
            let plaintext: Vec<u8> = (0..len as u8).collect();
            let ciphertext = cbc_encrypt(&key, &iv, &plaintext);
            for piece in [1, 5, 16, 33, 1000] {
                assert_eq!(
                    cbc_decrypt(&key, &iv, &ciphertext, piece).as_deref(),
                    Some(&plaintext[..]),
                    "{len} bytes in pieces of {piece}"
                );
            }
            let mut wrong_key = key;
            wrong_key[0] ^= 1;
            // A wrong key almost never leaves valid padding (these keys do not).
            assert_eq!(cbc_decrypt(&wrong_key, &iv, &ciphertext, 16), None);
            assert_eq!(cbc_decrypt(&key, &iv, &ciphertext[1..], 16), None);
        }
        assert_eq!(cbc_decrypt(&key, &iv, &[], 16), None);
    }

    #[test]
    fn parameters_decide_the_cipher_and_its_envelope() {
        let cbc = AlgorithmIdentifierOwned {
            oid: rfc5911::ID_AES_128_CBC,
            parameters: Some(der::Any::encode_from(&OctetString::new([1u8; 16]).unwrap()).unwrap()),
        };
        assert_eq!(
            ContentCipher::from_algorithm(&cbc, false).unwrap(),
            ContentCipher::Cbc {
                key_len: 16,
                iv: [1; 16]
            }
        );
        assert!(ContentCipher::from_algorithm(&cbc, true).is_err());
        let gcm = AlgorithmIdentifierOwned {
            oid: rfc5911::ID_AES_256_GCM,
            parameters: Some(
                der::Any::encode_from(&GcmParameters {
                    nonce: OctetString::new([2u8; 12]).unwrap(),
                    icv_len: Some(16),
                })
                .unwrap(),
            ),
        };
        let cipher = ContentCipher::from_algorithm(&gcm, true).unwrap();
        assert_eq!(cipher.name(), "AES-256-GCM");
        assert_eq!(cipher.key_len(), 32);
        assert!(ContentCipher::from_algorithm(&gcm, false).is_err());
        let des = AlgorithmIdentifierOwned {
            oid: const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.3.7"),
            parameters: None,
        };
        assert!(matches!(
            ContentCipher::from_algorithm(&des, false),
            Err(DecryptError::Unsupported(_))
        ));
    }
}
