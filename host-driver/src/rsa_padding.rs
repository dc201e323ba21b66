//! RSA paddings applied by the host.
//!
//! A PIV card performs only the raw RSA private operation: its input and output are exactly
//! `k` bytes, the length of the modulus. Everything else — building the signature block
//! before the card signs, and checking and stripping the encryption padding after the card
//! decrypts — is the host's work, and lives here (RFC 8017):
//!
//! - [`pkcs1v15_sign_block`]: EMSA-PKCS1-v1_5 (§9.2), `00 01 FF… 00 DigestInfo`.
//! - [`pss_sign_block`]: EMSA-PSS-ENCODE (§9.1.1) with MGF1, left-padded to `k` bytes.
//! - [`pkcs1v15_decrypt_unpad`]: EME-PKCS1-v1_5 decoding (§7.2.2 step 3).
//! - [`pkcs1v15_decrypt_implicit`]: the same decoding with implicit rejection, for a
//!   message whose length the caller knows (a content-encryption key).
//! - [`oaep_decrypt_unpad`]: EME-OAEP decoding (§7.1.2 step 3).
//!
//! The two decoders work on secret data, the plaintext of the card's private operation, and
//! run in constant time with respect to it: they always scan the whole block, compare and
//! select with [`subtle`], move the message into place with a constant-time shift, and report
//! every padding failure as the one opaque [`PaddingError::Decryption`]. Only the final
//! success-or-failure outcome, and on success the message length, can be observed. Errors
//! that depend only on public values (the block or modulus length) are reported precisely.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater};
use zeroize::Zeroizing;

use crate::hash::{HashAlg, Hasher};

/// Why a padding could not be applied or removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaddingError {
    /// The modulus is too short for this padding with this hash (and salt length).
    #[error("RSA modulus too small for this padding")]
    ModulusTooSmall,
    /// The hash given to a signature padding does not have the algorithm's output length.
    #[error("hash is {actual} bytes, expected {expected}")]
    HashLength {
        /// The algorithm's output length.
        expected: usize,
        /// The length of the hash given.
        actual: usize,
    },
    /// The block given to a decryption unpadding is not `k` bytes long.
    #[error("RSA block is {actual} bytes, expected {expected}")]
    BlockLength {
        /// The modulus length `k`.
        expected: usize,
        /// The length of the block given.
        actual: usize,
    },
    /// The system random number generator failed (PSS salt).
    #[error("random number generator failed")]
    Rng,
    /// Decryption failed. Deliberately says nothing more, whatever part of the padding was
    /// wrong, so that it cannot serve as a padding oracle.
    #[error("decryption error")]
    Decryption,
}

/// EMSA-PKCS1-v1_5 encoding (RFC 8017 §9.2) of an already computed `hash`, as the `k`-byte
/// block `00 01 FF…FF 00 DigestInfo` for the card's raw RSA private operation.
///
/// # Errors
/// [`PaddingError::HashLength`] if `hash` is not `hash_alg.output_len()` bytes;
/// [`PaddingError::ModulusTooSmall`] if `k < tLen + 11` (`tLen` = `DigestInfo` length).
pub fn pkcs1v15_sign_block(
    hash_alg: HashAlg,
    hash: &[u8],
    k: usize,
) -> Result<Vec<u8>, PaddingError> {
    check_hash_len(hash_alg, hash)?;
    let prefix = hash_alg.digest_info_prefix();
    let t_len = prefix.len() + hash.len();
    if k < t_len + 11 {
        return Err(PaddingError::ModulusTooSmall);
    }
    let ps_len = k - t_len - 3;
    let mut em = Vec::with_capacity(k);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(2 + ps_len, 0xFF);
    em.push(0x00);
    em.extend_from_slice(prefix);
    em.extend_from_slice(hash);
    debug_assert_eq!(em.len(), k);
    Ok(em)
}

/// EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of an already computed `hash`, with MGF1 over the same
/// hash and a random salt of `salt_len` bytes (the usual choice, and what the `rsa` crate and
/// OpenSSL verify by default, is `hash_alg.output_len()`).
///
/// `mod_bits` is the bit length of the modulus; `emBits = mod_bits - 1`. The result is
/// left-padded with zeros to `k = ceil(mod_bits / 8)` bytes, the length the card expects:
/// when `mod_bits ≡ 1 (mod 8)` the encoded message is only `k - 1` bytes long.
///
/// # Errors
/// [`PaddingError::HashLength`] if `hash` is not `hash_alg.output_len()` bytes;
/// [`PaddingError::ModulusTooSmall`] if `emLen < hLen + salt_len + 2`;
/// [`PaddingError::Rng`] if no salt could be drawn.
pub fn pss_sign_block(
    hash_alg: HashAlg,
    hash: &[u8],
    mod_bits: usize,
    salt_len: usize,
) -> Result<Vec<u8>, PaddingError> {
    check_hash_len(hash_alg, hash)?;
    // Check the sizes before drawing any randomness.
    pss_em_len(hash_alg, mod_bits, salt_len)?;
    let mut salt = Zeroizing::new(vec![0u8; salt_len]);
    getrandom::fill(&mut salt).map_err(|_| PaddingError::Rng)?;
    pss_sign_block_with_salt(hash_alg, hash, mod_bits, &salt)
}

/// [`pss_sign_block`] with a caller-supplied salt, for known-answer tests and for callers
/// that draw the salt themselves. The salt must be fresh random data for real signatures.
///
/// # Errors
/// As [`pss_sign_block`], except that it draws no randomness.
pub fn pss_sign_block_with_salt(
    hash_alg: HashAlg,
    hash: &[u8],
    mod_bits: usize,
    salt: &[u8],
) -> Result<Vec<u8>, PaddingError> {
    check_hash_len(hash_alg, hash)?;
    let h_len = hash_alg.output_len();
    let em_len = pss_em_len(hash_alg, mod_bits, salt.len())?;
    let em_bits = mod_bits - 1;
    let k = mod_bits.div_ceil(8);

    // The output: `k - em_len` (0 or 1) leading zero bytes, then EM = maskedDB || H || 0xBC.
    let mut out = vec![0u8; k];
    let em = &mut out[k - em_len..];
    let (db, rest) = em.split_at_mut(em_len - h_len - 1);
    let (h, trailer) = rest.split_at_mut(h_len);

    // Steps 5–6: H = Hash(00×8 || mHash || salt).
    hash_into(hash_alg, &[&[0u8; 8], hash, salt], h);

    // Steps 7–8: DB = PS || 0x01 || salt, where PS is zeros (already there).
    let ps_len = db.len() - salt.len() - 1;
    db[ps_len] = 0x01;
    db[ps_len + 1..].copy_from_slice(salt);

    // Steps 9–10: maskedDB = DB xor MGF1(H, emLen - hLen - 1).
    mgf1_xor(hash_alg, h, db);

    // Step 11: clear the leftmost 8·emLen − emBits bits (0 when emBits is a multiple of 8,
    // in which case EM is one byte shorter than the modulus instead).
    db[0] &= 0xFF >> (8 * em_len - em_bits);

    // Step 12: trailer.
    trailer[0] = 0xBC;
    Ok(out)
}

/// `emLen` for PSS, checking RFC 8017 §9.1.1 step 3.
fn pss_em_len(hash_alg: HashAlg, mod_bits: usize, salt_len: usize) -> Result<usize, PaddingError> {
    let em_bits = mod_bits
        .checked_sub(1)
        .ok_or(PaddingError::ModulusTooSmall)?;
    let em_len = em_bits.div_ceil(8);
    let needed = hash_alg
        .output_len()
        .checked_add(salt_len)
        .and_then(|n| n.checked_add(2))
        .ok_or(PaddingError::ModulusTooSmall)?;
    if em_len < needed {
        return Err(PaddingError::ModulusTooSmall);
    }
    Ok(em_len)
}

/// EME-PKCS1-v1_5 decoding (RFC 8017 §7.2.2 step 3) of the `k`-byte output of the card's
/// raw RSA private operation: checks `00 02 PS 00 M` with at least 8 nonzero bytes of PS,
/// and returns `M`.
///
/// Constant time with respect to the contents of `block`; every padding failure is
/// [`PaddingError::Decryption`]. (Callers that need protection from Bleichenbacher-style
/// oracles must also not let the failure itself be observable, e.g. by implicit rejection;
/// that is a protocol matter beyond this function.)
///
/// # Errors
/// [`PaddingError::BlockLength`] if `block.len() != k`; [`PaddingError::ModulusTooSmall`]
/// if `k < 11`; [`PaddingError::Decryption`] for any padding error.
pub fn pkcs1v15_decrypt_unpad(block: &[u8], k: usize) -> Result<Zeroizing<Vec<u8>>, PaddingError> {
    let (valid, msg, msg_len) = pkcs1v15_decode(block, k)?;
    if bool::from(valid) {
        let mut msg = msg;
        msg.truncate(msg_len);
        Ok(msg)
    } else {
        Err(PaddingError::Decryption)
    }
}

/// EME-PKCS1-v1_5 decoding with implicit rejection, for a message that must be `len` bytes
/// long (a content-encryption key): a block whose padding is wrong, or whose message has
/// another length, gives `len` pseudo-random bytes instead of an error.
///
/// A Bleichenbacher-style attacker learns whether a forged ciphertext is well padded from
/// any difference in how the receiver goes on; here every block goes on alike, and a
/// rejected one decrypts the content with a wrong key, which fails as a changed message
/// does. The replacement is derived from the block itself, which only the private key can
/// compute: the same ciphertext always gives the same key, so repeating it teaches nothing
/// (the idea of the "implicit rejection" draft for RSA PKCS#1 v1.5, with the raw private
/// result standing in for its key derivation secret, as the host never sees the key).
///
/// Constant time with respect to the contents of `block`.
///
/// # Errors
/// Only for public lengths: [`PaddingError::BlockLength`] if `block.len() != k`;
/// [`PaddingError::ModulusTooSmall`] if `k < len + 11`.
pub fn pkcs1v15_decrypt_implicit(
    block: &[u8],
    k: usize,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, PaddingError> {
    if k < len + 11 {
        return Err(PaddingError::ModulusTooSmall);
    }
    let (valid, msg, msg_len) = pkcs1v15_decode(block, k)?;
    let valid = valid & index_u32(msg_len).ct_eq(&index_u32(len));

    let mut seed = Zeroizing::new(vec![0u8; HashAlg::Sha256.output_len()]);
    hash_into(
        HashAlg::Sha256,
        &[b"smime-card PKCS#1 v1.5 implicit rejection", block],
        &mut seed,
    );
    let mut out = Zeroizing::new(vec![0u8; len]);
    mgf1_xor(HashAlg::Sha256, &seed, &mut out);
    for (o, m) in out.iter_mut().zip(msg.iter()) {
        o.conditional_assign(m, valid);
    }
    Ok(out)
}

/// EME-PKCS1-v1_5 decoding without the final branch: whether the padding holds, the block
/// with the message moved to its front, and the message length (meaningless, but in range,
/// when the padding does not hold).
fn pkcs1v15_decode(
    block: &[u8],
    k: usize,
) -> Result<(Choice, Zeroizing<Vec<u8>>, usize), PaddingError> {
    check_block_len(block, k)?;
    if k < 11 {
        return Err(PaddingError::ModulusTooSmall);
    }

    let mut valid = block[0].ct_eq(&0x00) & block[1].ct_eq(&0x02);

    // Find the first zero byte after the two header bytes, without branching on the data.
    let mut found = Choice::from(0);
    let mut sep = 0u32;
    for (i, byte) in block.iter().enumerate().skip(2) {
        let is_zero = byte.ct_eq(&0);
        sep.conditional_assign(&index_u32(i), is_zero & !found);
        found |= is_zero;
    }
    valid &= found;
    // PS is block[2..sep] and must be at least 8 bytes long: sep >= 10.
    valid &= sep.ct_gt(&9);

    // M = block[sep + 1..]. Shift it to the front in constant time; on failure `sep` is
    // meaningless but in range, and the result is discarded.
    let mut msg = Zeroizing::new(block.to_vec());
    ct_shift_left(&mut msg, sep as usize + 1);
    let msg_len = k - (sep as usize + 1);
    Ok((valid, msg, msg_len))
}

/// EME-OAEP decoding (RFC 8017 §7.1.2 step 3) of the `k`-byte output of the card's raw RSA
/// private operation, with `hash_alg` for the label hash and `mgf_hash` for MGF1 (pass the
/// same algorithm twice for the usual case; PKCS#11 and OpenSSL let the two differ, and
/// OpenSSL and OpenSC default both to SHA-1). `label` is the OAEP label, usually empty.
///
/// Constant time with respect to the contents of `block`; every padding failure, including
/// a wrong label, is [`PaddingError::Decryption`].
///
/// # Errors
/// [`PaddingError::BlockLength`] if `block.len() != k`; [`PaddingError::ModulusTooSmall`]
/// if `k < 2·hLen + 2`; [`PaddingError::Decryption`] for any padding error.
pub fn oaep_decrypt_unpad(
    hash_alg: HashAlg,
    mgf_hash: HashAlg,
    label: &[u8],
    block: &[u8],
    k: usize,
) -> Result<Zeroizing<Vec<u8>>, PaddingError> {
    check_block_len(block, k)?;
    let h_len = hash_alg.output_len();
    if k < 2 * h_len + 2 {
        return Err(PaddingError::ModulusTooSmall);
    }

    // Step 3a: lHash = Hash(L).
    let mut l_hash = vec![0u8; h_len];
    hash_into(hash_alg, &[label], &mut l_hash);

    // Step 3b: EM = Y || maskedSeed || maskedDB.
    let mut em = Zeroizing::new(block.to_vec());
    let (y, rest) = em.split_at_mut(1);
    let (seed, db) = rest.split_at_mut(h_len);

    // Steps 3c–3f: seed = maskedSeed xor MGF(maskedDB, hLen);
    // DB = maskedDB xor MGF(seed, k - hLen - 1).
    mgf1_xor(mgf_hash, db, seed);
    mgf1_xor(mgf_hash, seed, db);

    // Step 3g: DB = lHash' || PS || 0x01 || M; Y must be 0.
    let mut valid = y[0].ct_eq(&0x00) & db[..h_len].ct_eq(&l_hash);

    // The first nonzero byte after lHash' must be 0x01. Scan all of DB.
    let mut found = Choice::from(0);
    let mut sep = 0u32;
    for (i, byte) in db.iter().enumerate().skip(h_len) {
        let is_zero = byte.ct_eq(&0);
        let first_nonzero = !found & !is_zero;
        sep.conditional_assign(&index_u32(i), first_nonzero);
        valid &= !first_nonzero | byte.ct_eq(&0x01);
        found |= !is_zero;
    }
    valid &= found;

    // M = DB[sep + 1..], moved to the front in constant time.
    let db_len = db.len();
    let mut msg = Zeroizing::new(db.to_vec());
    ct_shift_left(&mut msg, sep as usize + 1);
    let msg_len = db_len - (sep as usize + 1).min(db_len);

    if bool::from(valid) {
        msg.truncate(msg_len);
        Ok(msg)
    } else {
        Err(PaddingError::Decryption)
    }
}

fn check_hash_len(hash_alg: HashAlg, hash: &[u8]) -> Result<(), PaddingError> {
    let expected = hash_alg.output_len();
    if hash.len() == expected {
        Ok(())
    } else {
        Err(PaddingError::HashLength {
            expected,
            actual: hash.len(),
        })
    }
}

fn check_block_len(block: &[u8], k: usize) -> Result<(), PaddingError> {
    // Lengths are public; k also bounds every index below so they fit in a u32.
    if block.len() != k || u32::try_from(k).is_err() {
        return Err(PaddingError::BlockLength {
            expected: k,
            actual: block.len(),
        });
    }
    Ok(())
}

/// Hashes the concatenation of `parts` into `out`, which must be `alg.output_len()` long.
fn hash_into(alg: HashAlg, parts: &[&[u8]], out: &mut [u8]) {
    let mut hasher = Hasher::new(alg);
    for part in parts {
        hasher.update(part);
    }
    hasher.finish_into(out);
}

/// A public loop index as `u32` (blocks are checked to be shorter than `u32::MAX`).
fn index_u32(i: usize) -> u32 {
    u32::try_from(i).expect("block length checked to fit in u32")
}

/// `out ^= MGF1(seed, out.len())` (RFC 8017 appendix B.2.1).
fn mgf1_xor(hash_alg: HashAlg, seed: &[u8], out: &mut [u8]) {
    let mut block = Zeroizing::new(vec![0u8; hash_alg.output_len()]);
    for (counter, chunk) in out.chunks_mut(block.len()).enumerate() {
        let c = u32::try_from(counter)
            .expect("mask shorter than 2^32 hash blocks")
            .to_be_bytes();
        hash_into(hash_alg, &[seed, &c], &mut block);
        for (o, m) in chunk.iter_mut().zip(block.iter()) {
            *o ^= m;
        }
    }
}

/// Shifts `buf` left by a secret `shift` (filling with zeros) in time that depends only on
/// `buf.len()`: one conditional pass per bit of the shift, `O(n log n)` in all.
/// A `shift >= buf.len()` empties the buffer to zeros.
fn ct_shift_left(buf: &mut [u8], shift: usize) {
    let len = buf.len();
    // Clamp without branching on `shift`: all shifts >= len give the same all-zero result,
    // and shifting by `len` does so within the passes below.
    let shift = select_usize(shift, len, (shift as u64).ct_gt(&(len as u64)));
    let mut amount = 1usize;
    let mut bit = 0u32;
    while amount <= len {
        let choice = Choice::from(u8::from((shift >> bit) & 1 == 1));
        for i in 0..len {
            let src = buf.get(i + amount).copied().unwrap_or(0);
            buf[i].conditional_assign(&src, choice);
        }
        amount <<= 1;
        bit += 1;
    }
}

/// `subtle` has no `ConditionallySelectable` for `usize`; go through `u64`.
fn select_usize(a: usize, b: usize, choice: Choice) -> usize {
    let selected = u64::conditional_select(&(a as u64), &(b as u64), choice);
    usize::try_from(selected).expect("one of two usize values")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::UnwrapErr;
    use rsa::pss::{Signature as PssSignature, VerifyingKey as PssVerifyingKey};
    use rsa::signature::hazmat::PrehashVerifier;
    use rsa::traits::PublicKeyParts;
    use rsa::{BoxedUint, Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, PrivateKey, Pss};
    use sha1::Sha1;
    use sha2::{Digest, Sha256, Sha384, Sha512};
    use std::collections::BTreeMap;
    use std::sync::{Mutex, OnceLock};

    fn rng() -> UnwrapErr<getrandom::SysRng> {
        UnwrapErr(getrandom::SysRng)
    }

    /// One generated key per size, shared by all tests (generation dominates test time).
    fn key(bits: usize) -> &'static PrivateKey {
        static KEYS: Mutex<BTreeMap<usize, &'static OnceLock<PrivateKey>>> =
            Mutex::new(BTreeMap::new());
        let slot = *KEYS
            .lock()
            .unwrap()
            .entry(bits)
            .or_insert_with(|| Box::leak(Box::default()));
        slot.get_or_init(|| {
            let key = PrivateKey::new(&mut rng(), bits).unwrap();
            assert_eq!(key.n().bit_width() as usize, bits);
            key
        })
    }

    fn random_bytes(n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        getrandom::fill(&mut v).unwrap();
        v
    }

    /// What the card does: the raw private operation on a `k`-byte block, output `k` bytes.
    fn raw_private(key: &PrivateKey, block: &[u8]) -> Vec<u8> {
        let k = key.size();
        assert_eq!(block.len(), k, "the card takes exactly k bytes");
        let c = BoxedUint::from_be_slice(block, key.n_bits_precision()).unwrap();
        let m = rsa::hazmat::rsa_decrypt_and_check(key, Some(&mut rng()), &c).unwrap();
        let bytes = m.to_be_bytes();
        let (zeros, tail) = bytes.split_at(bytes.len() - k);
        assert!(zeros.iter().all(|&b| b == 0));
        tail.to_vec()
    }

    fn hash_of(alg: HashAlg, msg: &[u8]) -> Vec<u8> {
        match alg {
            HashAlg::Sha1 => Sha1::digest(msg).to_vec(),
            HashAlg::Sha256 => Sha256::digest(msg).to_vec(),
            HashAlg::Sha384 => Sha384::digest(msg).to_vec(),
            HashAlg::Sha512 => Sha512::digest(msg).to_vec(),
        }
    }

    const ALL: [HashAlg; 4] = [
        HashAlg::Sha1,
        HashAlg::Sha256,
        HashAlg::Sha384,
        HashAlg::Sha512,
    ];

    #[test]
    fn hash_lengths_and_digest_info_prefixes_are_consistent() {
        for alg in ALL {
            assert_eq!(hash_of(alg, b"x").len(), alg.output_len());
            let prefix = alg.digest_info_prefix();
            // SEQUENCE length covers everything after the first two bytes, hash included;
            // the final OCTET STRING header announces the hash length.
            assert_eq!(prefix[0], 0x30);
            assert_eq!(usize::from(prefix[1]), prefix.len() - 2 + alg.output_len());
            assert_eq!(prefix[prefix.len() - 2], 0x04);
            assert_eq!(usize::from(prefix[prefix.len() - 1]), alg.output_len());
        }
    }

    #[test]
    fn pkcs1v15_sign_block_layout() {
        let hash = hash_of(HashAlg::Sha256, b"abc");
        let em = pkcs1v15_sign_block(HashAlg::Sha256, &hash, 256).unwrap();
        assert_eq!(em.len(), 256);
        assert_eq!(&em[..2], &[0x00, 0x01]);
        let t_len = 19 + 32;
        assert!(em[2..256 - t_len - 1].iter().all(|&b| b == 0xFF));
        assert_eq!(em[256 - t_len - 1], 0x00);
        assert_eq!(
            &em[256 - t_len..256 - 32],
            HashAlg::Sha256.digest_info_prefix()
        );
        assert_eq!(&em[256 - 32..], &hash[..]);
    }

    #[test]
    fn pkcs1v15_sign_block_size_limits() {
        // tLen = 19 + 64 = 83 for SHA-512, so k = 94 is the smallest that fits.
        let hash = [0x5A; 64];
        let em = pkcs1v15_sign_block(HashAlg::Sha512, &hash, 94).unwrap();
        assert_eq!(
            &em[..11],
            &[0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0]
        );
        assert_eq!(
            pkcs1v15_sign_block(HashAlg::Sha512, &hash, 93),
            Err(PaddingError::ModulusTooSmall)
        );
        assert_eq!(
            pkcs1v15_sign_block(HashAlg::Sha512, &hash, 0),
            Err(PaddingError::ModulusTooSmall)
        );
        assert_eq!(
            pkcs1v15_sign_block(HashAlg::Sha256, &hash, 256),
            Err(PaddingError::HashLength {
                expected: 32,
                actual: 64
            })
        );
    }

    #[test]
    fn pkcs1v15_signatures_verify_with_the_rsa_crate() {
        let key = key(2048);
        let public = key.to_public_key();
        for alg in ALL {
            let hash = hash_of(alg, b"a message signed through a PIV card");
            let block = pkcs1v15_sign_block(alg, &hash, key.size()).unwrap();
            let sig = raw_private(key, &block);
            let scheme = || match alg {
                HashAlg::Sha1 => Pkcs1v15Sign::new::<Sha1>(),
                HashAlg::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
                HashAlg::Sha384 => Pkcs1v15Sign::new::<Sha384>(),
                HashAlg::Sha512 => Pkcs1v15Sign::new::<Sha512>(),
            };
            public.verify(scheme(), &hash, &sig).unwrap();
            // The encoding is deterministic: identical to the rsa crate's own signature.
            assert_eq!(key.sign(scheme(), &hash).unwrap(), sig, "{alg:?}");
            // And it is bound to the hash.
            let mut other = hash.clone();
            other[0] ^= 1;
            assert!(public.verify(scheme(), &other, &sig).is_err());
        }
    }

    fn pss_verify(public: &rsa::PublicKey, alg: HashAlg, salt_len: usize, hash: &[u8], sig: &[u8]) {
        let result = match alg {
            HashAlg::Sha1 => public.verify(Pss::<Sha1>::new_with_salt(salt_len), hash, sig),
            HashAlg::Sha256 => public.verify(Pss::<Sha256>::new_with_salt(salt_len), hash, sig),
            HashAlg::Sha384 => public.verify(Pss::<Sha384>::new_with_salt(salt_len), hash, sig),
            HashAlg::Sha512 => public.verify(Pss::<Sha512>::new_with_salt(salt_len), hash, sig),
        };
        result.unwrap_or_else(|e| panic!("{alg:?} salt {salt_len}: {e}"));
    }

    #[test]
    fn pss_signatures_verify_with_the_rsa_crate() {
        let key = key(2048);
        let public = key.to_public_key();
        for alg in ALL {
            let hash = hash_of(alg, b"a message signed through a PIV card");
            let salt_len = alg.output_len();
            let block = pss_sign_block(alg, &hash, 2048, salt_len).unwrap();
            assert_eq!(block.len(), 256);
            assert_eq!(block[255], 0xBC);
            let sig = raw_private(key, &block);
            pss_verify(&public, alg, salt_len, &hash, &sig);
            // A random salt: signing twice gives different signatures.
            let again = raw_private(key, &pss_sign_block(alg, &hash, 2048, salt_len).unwrap());
            assert_ne!(again, sig);
            pss_verify(&public, alg, salt_len, &hash, &again);
        }
    }

    #[test]
    fn pss_verifying_key_with_default_salt_accepts_sha256() {
        let key = key(2048);
        let hash = hash_of(HashAlg::Sha256, b"prehashed");
        let block = pss_sign_block(HashAlg::Sha256, &hash, 2048, 32).unwrap();
        let sig = PssSignature::try_from(raw_private(key, &block).as_slice()).unwrap();
        let verifier = PssVerifyingKey::<Sha256>::new(key.to_public_key());
        verifier.verify_prehash(&hash, &sig).unwrap();
        assert!(verifier.verify_prehash(&[0u8; 32], &sig).is_err());
        // Also through the PublicKey/SignatureScheme API with the default salt length.
        let raw = raw_private(key, &block);
        key.to_public_key()
            .verify(Pss::<Sha256>::new(), &hash, &raw)
            .unwrap();
    }

    #[test]
    fn pss_other_salt_lengths_verify() {
        let key = key(2048);
        let public = key.to_public_key();
        let hash = hash_of(HashAlg::Sha256, b"salt lengths");
        // 0, short, hash length, and the maximum: emLen - hLen - 2 = 256 - 32 - 2.
        for salt_len in [0, 20, 32, 222] {
            let block = pss_sign_block(HashAlg::Sha256, &hash, 2048, salt_len).unwrap();
            let sig = raw_private(key, &block);
            pss_verify(&public, HashAlg::Sha256, salt_len, &hash, &sig);
            // Auto-detecting verifier agrees on the salt length.
            let verifier = PssVerifyingKey::<Sha256>::new_with_auto_salt_len(public.clone());
            verifier
                .verify_prehash(&hash, &PssSignature::try_from(sig.as_slice()).unwrap())
                .unwrap();
        }
        assert_eq!(
            pss_sign_block(HashAlg::Sha256, &hash, 2048, 223),
            Err(PaddingError::ModulusTooSmall)
        );
    }

    /// The bit length of the modulus decides emBits = modBits − 1 and emLen = ⌈emBits/8⌉:
    /// - 1024, 2048 (≡ 0 mod 8): emLen = k, the top bit of EM is cleared;
    /// - 1025, 2049 (≡ 1 mod 8): emBits is a multiple of 8, so emLen = k − 1, nothing is
    ///   cleared, and the block handed to the card starts with an extra zero byte;
    /// - 1031, 2047 (≡ 7 mod 8): emLen = k, the top 2 bits are cleared... and so on.
    ///
    /// The rsa crate generates keys of any size ≥ 1024 bits, so all of these are real keys.
    #[test]
    fn pss_em_bits_for_moduli_of_every_residue() {
        for bits in [1024, 1025, 1026, 1028, 1031, 2047, 2049] {
            let key = key(bits);
            let public = key.to_public_key();
            let k = key.size();
            assert_eq!(k, bits.div_ceil(8));
            let em_bits = bits - 1;
            let em_len = em_bits.div_ceil(8);
            for alg in [HashAlg::Sha256, HashAlg::Sha512] {
                let hash = hash_of(alg, b"odd moduli");
                // SHA-512 with a 64-byte salt needs emLen >= 130: use the largest salt that fits.
                let salt_len = alg.output_len().min(em_len - alg.output_len() - 2);
                let block = pss_sign_block(alg, &hash, bits, salt_len).unwrap();
                assert_eq!(block.len(), k, "{bits}");
                if em_len < k {
                    assert_eq!(bits % 8, 1);
                    assert_eq!(block[0], 0, "{bits}: leading pad byte");
                }
                // The encoded message fits in emBits bits: the block as an integer < 2^emBits.
                let em = &block[k - em_len..];
                let unused_bits = 8 * em_len - em_bits;
                if unused_bits > 0 {
                    assert_eq!(
                        em[0] >> (8 - unused_bits),
                        0,
                        "{bits}: top {unused_bits} bits"
                    );
                }
                let sig = raw_private(key, &block);
                pss_verify(&public, alg, salt_len, &hash, &sig);
            }
        }
    }

    #[test]
    fn pss_block_layout_with_fixed_salt() {
        // A 1025-bit modulus: emBits = 1024, emLen = 128, k = 129.
        let hash = hash_of(HashAlg::Sha256, b"kat");
        let salt = [0xA5u8; 32];
        let block = pss_sign_block_with_salt(HashAlg::Sha256, &hash, 1025, &salt).unwrap();
        assert_eq!(block.len(), 129);
        assert_eq!(block[0], 0);
        let em = &block[1..];
        assert_eq!(em[127], 0xBC);
        // H = Hash(00*8 || mHash || salt).
        let mut m_prime = vec![0u8; 8];
        m_prime.extend_from_slice(&hash);
        m_prime.extend_from_slice(&salt);
        let h = &em[128 - 33..127];
        assert_eq!(h, Sha256::digest(&m_prime).as_slice());
        // Unmask DB and find PS || 01 || salt.
        let mut db = em[..128 - 33].to_vec();
        mgf1_xor(HashAlg::Sha256, h, &mut db);
        let ps_len = db.len() - 32 - 1;
        assert!(db[..ps_len].iter().all(|&b| b == 0));
        assert_eq!(db[ps_len], 0x01);
        assert_eq!(&db[ps_len + 1..], &salt);
        // Deterministic given the salt.
        assert_eq!(
            pss_sign_block_with_salt(HashAlg::Sha256, &hash, 1025, &salt).unwrap(),
            block
        );
    }

    #[test]
    fn pss_size_and_hash_errors() {
        let hash = [0u8; 32];
        // emLen = ceil((modBits - 1) / 8) must be >= hLen + sLen + 2 = 66:
        // modBits = 522 (emBits 521) is the smallest, 521 (emBits 520, emLen 65) too small.
        assert_eq!(
            pss_sign_block(HashAlg::Sha256, &hash, 522, 32)
                .unwrap()
                .len(),
            66
        );
        assert_eq!(
            pss_sign_block(HashAlg::Sha256, &hash, 521, 32),
            Err(PaddingError::ModulusTooSmall)
        );
        assert_eq!(
            pss_sign_block(HashAlg::Sha256, &hash, 0, 32),
            Err(PaddingError::ModulusTooSmall)
        );
        assert_eq!(
            pss_sign_block(HashAlg::Sha256, &hash, 2048, usize::MAX),
            Err(PaddingError::ModulusTooSmall)
        );
        assert_eq!(
            pss_sign_block(HashAlg::Sha384, &hash, 2048, 48),
            Err(PaddingError::HashLength {
                expected: 48,
                actual: 32
            })
        );
    }

    #[test]
    fn pkcs1v15_decrypts_what_the_rsa_crate_encrypts() {
        let key = key(2048);
        let public = key.to_public_key();
        let k = key.size();
        // Empty, short, and the longest message: k - 11 bytes.
        for len in [0, 1, 16, 32, 100, k - 11] {
            let msg = random_bytes(len);
            let ct = public.encrypt(&mut rng(), Pkcs1v15Encrypt, &msg).unwrap();
            let block = raw_private(key, &ct);
            let pt = pkcs1v15_decrypt_unpad(&block, k).unwrap();
            assert_eq!(pt.as_slice(), msg.as_slice(), "len {len}");
        }
    }

    fn oaep_encrypt(
        public: &rsa::PublicKey,
        alg: HashAlg,
        mgf: HashAlg,
        label: &[u8],
        msg: &[u8],
    ) -> Vec<u8> {
        let label = label.to_vec();
        let mut r = rng();
        macro_rules! enc {
            ($d:ty, $m:ty) => {
                public.encrypt(
                    &mut r,
                    Oaep::<$d, $m>::new_with_mgf_hash_and_label(label),
                    msg,
                )
            };
        }
        match (alg, mgf) {
            (HashAlg::Sha1, HashAlg::Sha1) => enc!(Sha1, Sha1),
            (HashAlg::Sha256, HashAlg::Sha256) => enc!(Sha256, Sha256),
            (HashAlg::Sha384, HashAlg::Sha384) => enc!(Sha384, Sha384),
            (HashAlg::Sha512, HashAlg::Sha512) => enc!(Sha512, Sha512),
            (HashAlg::Sha256, HashAlg::Sha1) => enc!(Sha256, Sha1),
            (HashAlg::Sha1, HashAlg::Sha256) => enc!(Sha1, Sha256),
            (HashAlg::Sha512, HashAlg::Sha256) => enc!(Sha512, Sha256),
            other => unimplemented!("{other:?}"),
        }
        .unwrap()
    }

    #[test]
    fn oaep_decrypts_what_the_rsa_crate_encrypts() {
        let key = key(2048);
        let public = key.to_public_key();
        let k = key.size();
        let pairs = [
            (HashAlg::Sha1, HashAlg::Sha1),
            (HashAlg::Sha256, HashAlg::Sha256),
            (HashAlg::Sha384, HashAlg::Sha384),
            (HashAlg::Sha512, HashAlg::Sha512),
            (HashAlg::Sha256, HashAlg::Sha1),
            (HashAlg::Sha1, HashAlg::Sha256),
            (HashAlg::Sha512, HashAlg::Sha256),
        ];
        for (alg, mgf) in pairs {
            let max = k - 2 * alg.output_len() - 2;
            for label in [&b""[..], b"a label"] {
                for len in [0, 1, 32, max] {
                    let msg = random_bytes(len);
                    let ct = oaep_encrypt(&public, alg, mgf, label, &msg);
                    let block = raw_private(key, &ct);
                    let pt = oaep_decrypt_unpad(alg, mgf, label, &block, k)
                        .unwrap_or_else(|e| panic!("{alg:?}/{mgf:?} len {len}: {e}"));
                    assert_eq!(pt.as_slice(), msg.as_slice());
                }
            }
        }
    }

    #[test]
    fn oaep_sha256_and_sha1_through_the_plain_constructors() {
        let key = key(2048);
        let public = key.to_public_key();
        let msg = b"a 32-byte AES key, for instance.";
        let ct = public
            .encrypt(&mut rng(), Oaep::<Sha256>::new(), msg)
            .unwrap();
        let block = raw_private(key, &ct);
        let pt = oaep_decrypt_unpad(HashAlg::Sha256, HashAlg::Sha256, b"", &block, 256).unwrap();
        assert_eq!(pt.as_slice(), msg);

        let ct = public
            .encrypt(&mut rng(), Oaep::<Sha1>::new(), msg)
            .unwrap();
        let block = raw_private(key, &ct);
        let pt = oaep_decrypt_unpad(HashAlg::Sha1, HashAlg::Sha1, b"", &block, 256).unwrap();
        assert_eq!(pt.as_slice(), msg);
        // The wrong hash is a decryption error, not a panic or a wrong plaintext.
        assert_eq!(
            oaep_decrypt_unpad(HashAlg::Sha256, HashAlg::Sha256, b"", &block, 256),
            Err(PaddingError::Decryption)
        );
        assert_eq!(
            oaep_decrypt_unpad(HashAlg::Sha1, HashAlg::Sha256, b"", &block, 256),
            Err(PaddingError::Decryption)
        );
    }

    /// A valid EME-PKCS1-v1_5 block built by hand, with the separator at `sep`.
    fn pkcs1v15_block(k: usize, sep: usize) -> Vec<u8> {
        let mut b = vec![0u8; k];
        b[1] = 0x02;
        for byte in &mut b[2..sep] {
            *byte = 0x42;
        }
        for (i, byte) in b[sep + 1..].iter_mut().enumerate() {
            *byte = u8::try_from(i % 256).unwrap();
        }
        b
    }

    #[test]
    fn pkcs1v15_unpad_rejects_corrupted_blocks_with_one_error() {
        let k = 128;
        let good = pkcs1v15_block(k, 50);
        assert_eq!(pkcs1v15_decrypt_unpad(&good, k).unwrap().len(), k - 51);

        let mut bad = Vec::new();
        let mut b = good.clone();
        b[0] = 0x01; // Leading byte not zero.
        bad.push(b);
        let mut b = good.clone();
        b[1] = 0x01; // Block type 1 (signature), not 2.
        bad.push(b);
        let mut b = good.clone();
        b[1] = 0x00;
        bad.push(b);
        let mut b = good.clone();
        b[50] = 0x42; // No zero separator anywhere.
        for byte in &mut b[51..] {
            *byte |= 1;
        }
        bad.push(b);
        bad.push(pkcs1v15_block(k, 9)); // PS of 7 bytes.
        bad.push(pkcs1v15_block(k, 2)); // Empty PS.
        bad.push(vec![0u8; k]);
        bad.push(vec![0xFFu8; k]);

        for (i, b) in bad.iter().enumerate() {
            assert_eq!(
                pkcs1v15_decrypt_unpad(b, k),
                Err(PaddingError::Decryption),
                "case {i}"
            );
        }
        // PS of exactly 8 bytes and an empty message are fine.
        assert_eq!(
            pkcs1v15_decrypt_unpad(&pkcs1v15_block(k, 10), k)
                .unwrap()
                .len(),
            k - 11
        );
        assert!(
            pkcs1v15_decrypt_unpad(&pkcs1v15_block(k, k - 1), k)
                .unwrap()
                .is_empty()
        );
        // The message starts right after the first zero, even if it contains zeros itself.
        let m = pkcs1v15_decrypt_unpad(&good, k).unwrap();
        assert_eq!(m[0], 0);
        assert_eq!(m.as_slice(), &good[51..]);
    }

    #[test]
    fn pkcs1v15_unpad_rejects_corrupted_real_ciphertexts() {
        let key = key(2048);
        let public = key.to_public_key();
        let msg = random_bytes(32);
        let ct = public.encrypt(&mut rng(), Pkcs1v15Encrypt, &msg).unwrap();
        let block = raw_private(key, &ct);
        for (i, mask) in [(0usize, 0x80u8), (1, 0x01)] {
            let mut b = block.clone();
            b[i] ^= mask;
            assert_eq!(
                pkcs1v15_decrypt_unpad(&b, 256),
                Err(PaddingError::Decryption)
            );
        }
        // A corrupted ciphertext decrypts to garbage, which must not unpad.
        let mut ct = ct;
        ct[100] ^= 0x10;
        let garbage = raw_private(key, &ct);
        assert_eq!(
            pkcs1v15_decrypt_unpad(&garbage, 256),
            Err(PaddingError::Decryption)
        );
    }

    #[test]
    fn implicit_rejection_gives_the_key_or_the_same_stand_in_for_the_same_block() {
        let k = 256;
        let good = pkcs1v15_block(k, k - 33);
        let key = &good[k - 32..];
        assert_eq!(&pkcs1v15_decrypt_implicit(&good, k, 32).unwrap()[..], key);
        // A wrong length, a wrong header and a short PS each give a stand-in, always the
        // same for the same block, and different for different blocks.
        let short_key = pkcs1v15_decrypt_implicit(&good, k, 16).unwrap();
        assert_eq!(short_key.len(), 16);
        assert_ne!(&short_key[..], &key[16..]);
        let mut bad_header = good.clone();
        bad_header[1] = 0x01;
        let short_ps = pkcs1v15_block(k, 9);
        for bad in [&bad_header, &short_ps] {
            let once = pkcs1v15_decrypt_implicit(bad, k, 32).unwrap();
            assert_eq!(once, pkcs1v15_decrypt_implicit(bad, k, 32).unwrap());
            assert_ne!(&once[..], key);
        }
        assert_ne!(
            pkcs1v15_decrypt_implicit(&bad_header, k, 32).unwrap(),
            pkcs1v15_decrypt_implicit(&short_ps, k, 32).unwrap()
        );
        assert_eq!(
            pkcs1v15_decrypt_implicit(&good, 40, 32),
            Err(PaddingError::ModulusTooSmall)
        );
        assert!(matches!(
            pkcs1v15_decrypt_implicit(&good[1..], k, 32),
            Err(PaddingError::BlockLength { .. })
        ));
    }

    #[test]
    fn oaep_unpad_rejects_corrupted_blocks_with_one_error() {
        let key = key(2048);
        let public = key.to_public_key();
        let k = 256;
        let msg = random_bytes(40);
        let ct = oaep_encrypt(&public, HashAlg::Sha256, HashAlg::Sha256, b"L", &msg);
        let block = raw_private(key, &ct);
        let unpad = |b: &[u8]| oaep_decrypt_unpad(HashAlg::Sha256, HashAlg::Sha256, b"L", b, k);
        assert_eq!(unpad(&block).unwrap().as_slice(), msg.as_slice());

        // Wrong label.
        assert_eq!(
            oaep_decrypt_unpad(HashAlg::Sha256, HashAlg::Sha256, b"M", &block, k),
            Err(PaddingError::Decryption)
        );
        assert_eq!(
            oaep_decrypt_unpad(HashAlg::Sha256, HashAlg::Sha256, b"", &block, k),
            Err(PaddingError::Decryption)
        );
        // Y not zero.
        let mut b = block.clone();
        b[0] = 1;
        assert_eq!(unpad(&b), Err(PaddingError::Decryption));
        // Any flipped bit in maskedSeed or maskedDB garbles lHash', which must be caught.
        for i in [1, 16, 32, 33, 34, 64, 128, 200, 255] {
            let mut b = block.clone();
            b[i] ^= 0x04;
            assert_eq!(unpad(&b), Err(PaddingError::Decryption), "byte {i}");
        }
        // Garbage from a corrupted ciphertext.
        let mut ct = ct;
        ct[7] ^= 0x01;
        assert_eq!(unpad(&raw_private(key, &ct)), Err(PaddingError::Decryption));
    }

    /// Builds an OAEP block from a chosen DB (after lHash'), to reach the separator checks
    /// directly: EM = 00 || maskedSeed || maskedDB with a fixed seed.
    fn oaep_block_with_db_tail(tail: &[u8], k: usize) -> Vec<u8> {
        let alg = HashAlg::Sha256;
        let h_len = 32;
        let mut db = vec![0u8; k - h_len - 1];
        hash_into(alg, &[b""], &mut db[..h_len]);
        db[k - h_len - 1 - tail.len()..].copy_from_slice(tail);
        let mut seed = vec![0x33u8; h_len];
        mgf1_xor(alg, &seed, &mut db);
        mgf1_xor(alg, &db, &mut seed);
        let mut em = vec![0u8];
        em.extend_from_slice(&seed);
        em.extend_from_slice(&db);
        em
    }

    #[test]
    fn oaep_unpad_separator_rules() {
        let k = 128;
        let unpad = |b: &[u8]| oaep_decrypt_unpad(HashAlg::Sha256, HashAlg::Sha256, b"", b, k);
        // PS || 01 || M with M containing zeros and ones.
        let good = oaep_block_with_db_tail(&[0x01, 0x00, 0x01, 0x02], k);
        assert_eq!(unpad(&good).unwrap().as_slice(), &[0x00, 0x01, 0x02]);
        // Empty message: 01 is the last byte.
        let good = oaep_block_with_db_tail(&[0x01], k);
        assert!(unpad(&good).unwrap().is_empty());
        // Empty PS, longest message.
        let mut tail = vec![0x01];
        tail.extend(std::iter::repeat_n(0xEE, k - 2 * 32 - 2));
        let good = oaep_block_with_db_tail(&tail, k);
        assert_eq!(unpad(&good).unwrap().len(), k - 2 * 32 - 2);
        // First nonzero byte after lHash' is not 01.
        for tail in [&[0x02, 0x01, 0x05][..], &[0x80], &[0xFF, 0x01]] {
            let bad = oaep_block_with_db_tail(tail, k);
            assert_eq!(unpad(&bad), Err(PaddingError::Decryption), "{tail:02x?}");
        }
        // No 01 at all: DB after lHash' is all zeros.
        let bad = oaep_block_with_db_tail(&[], k);
        assert_eq!(unpad(&bad), Err(PaddingError::Decryption));
    }

    #[test]
    fn random_blocks_are_rejected_without_panicking() {
        for k in [11, 12, 66, 128, 256, 257, 512] {
            for _ in 0..200 {
                let mut b = random_bytes(k);
                // Valid-looking headers half of the time, to get past the first checks.
                if b[2] & 1 == 0 {
                    b[0] = 0;
                    b[1] = 2;
                }
                // A random PKCS#1 block is occasionally valid; if so it must be consistent.
                if let Ok(m) = pkcs1v15_decrypt_unpad(&b, k) {
                    assert!(m.len() <= k - 11);
                    assert_eq!(m.as_slice(), &b[k - m.len()..]);
                    assert_eq!(b[k - m.len() - 1], 0);
                }
                for alg in ALL {
                    if k >= 2 * alg.output_len() + 2 {
                        // Valid only with probability ~2^-8hLen.
                        assert_eq!(
                            oaep_decrypt_unpad(alg, alg, b"", &b, k),
                            Err(PaddingError::Decryption)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn decrypt_length_errors_are_precise() {
        assert_eq!(
            pkcs1v15_decrypt_unpad(&[0u8; 255], 256),
            Err(PaddingError::BlockLength {
                expected: 256,
                actual: 255
            })
        );
        assert_eq!(
            pkcs1v15_decrypt_unpad(&[0u8; 10], 10),
            Err(PaddingError::ModulusTooSmall)
        );
        assert_eq!(
            oaep_decrypt_unpad(HashAlg::Sha1, HashAlg::Sha1, b"", &[0u8; 257], 256),
            Err(PaddingError::BlockLength {
                expected: 256,
                actual: 257
            })
        );
        // 2·64 + 2 = 130 bytes is the least for SHA-512.
        assert_eq!(
            oaep_decrypt_unpad(HashAlg::Sha512, HashAlg::Sha1, b"", &[0u8; 129], 129),
            Err(PaddingError::ModulusTooSmall)
        );
        assert_eq!(
            oaep_decrypt_unpad(HashAlg::Sha512, HashAlg::Sha1, b"", &[0u8; 130], 130),
            Err(PaddingError::Decryption)
        );
        assert_eq!(
            pkcs1v15_decrypt_unpad(&[], 0),
            Err(PaddingError::ModulusTooSmall)
        );
    }

    #[test]
    fn decryption_errors_say_nothing() {
        assert_eq!(PaddingError::Decryption.to_string(), "decryption error");
    }

    #[test]
    fn mgf1_matches_the_definition() {
        // MGF1-SHA-1 of "foo", 3 bytes: the classic example from the PKCS#1 literature.
        let mut out = [0u8; 3];
        mgf1_xor(HashAlg::Sha1, b"foo", &mut out);
        assert_eq!(out, [0x1a, 0xc9, 0x07]);
        let mut out = [0u8; 5];
        mgf1_xor(HashAlg::Sha1, b"bar", &mut out);
        assert_eq!(out, [0xbc, 0x0c, 0x65, 0x5e, 0x01]);
        // And longer than one block: T = Hash(seed||0) || Hash(seed||1) || ...
        let mut out = [0u8; 50];
        mgf1_xor(HashAlg::Sha256, b"seed", &mut out);
        let mut expected = Sha256::digest(b"seed\0\0\0\0").to_vec();
        expected.extend_from_slice(&Sha256::digest(b"seed\0\0\0\x01"));
        assert_eq!(&out[..], &expected[..50]);
    }

    #[test]
    fn ct_shift_left_matches_naive_shift() {
        for len in [0usize, 1, 2, 3, 7, 8, 9, 31, 64, 100] {
            let orig: Vec<u8> = (1..=len).map(|i| u8::try_from(i).unwrap()).collect();
            for shift in 0..=len + 3 {
                let mut buf = orig.clone();
                ct_shift_left(&mut buf, shift);
                let mut expected = orig.get(shift..).unwrap_or(&[]).to_vec();
                expected.resize(len, 0);
                assert_eq!(buf, expected, "len {len} shift {shift}");
            }
            let mut buf = orig.clone();
            ct_shift_left(&mut buf, usize::MAX);
            assert!(buf.iter().all(|&b| b == 0));
        }
    }
}
