//! The card management key (key reference 9B): a 3DES or AES key that authorises
//! administrative commands through a challenge-response over one cipher block.

use super::Algorithm;
use cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The factory default key: 01..08 three times.
pub const DEFAULT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

#[derive(Clone)]
pub struct ManagementKey {
    algorithm: Algorithm,
    key: Zeroizing<Vec<u8>>,
    /// Whether the key requires touch (recorded; a virtual card has no button).
    pub touch_required: bool,
}

impl std::fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ManagementKey({}, redacted)", self.algorithm)
    }
}

impl ManagementKey {
    /// A key of `algorithm`; `None` when the algorithm is not symmetric or the length is wrong.
    pub fn new(algorithm: Algorithm, key: &[u8]) -> Option<Self> {
        (algorithm.symmetric_key_len()? == key.len()).then(|| Self {
            algorithm,
            key: Zeroizing::new(key.to_vec()),
            touch_required: false,
        })
    }

    /// The factory key for `algorithm`: the well-known 24 bytes, cut to the key length.
    pub fn factory(algorithm: Algorithm) -> Option<Self> {
        let len = algorithm.symmetric_key_len()?;
        let mut key = DEFAULT_KEY.repeat(2);
        key.truncate(len);
        Self::new(algorithm, &key)
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key itself, for the card to store it. Never log it.
    pub fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    pub fn block_size(&self) -> usize {
        self.algorithm.block_size().unwrap_or(8)
    }

    pub fn is_default(&self) -> bool {
        Self::factory(self.algorithm).is_some_and(|f| bool::from(f.key.ct_eq(&self.key)))
    }

    /// ECB encryption of one block; `None` if `block` is not one block long.
    pub fn encrypt(&self, block: &[u8]) -> Option<Vec<u8>> {
        self.ecb(block, true)
    }

    pub fn decrypt(&self, block: &[u8]) -> Option<Vec<u8>> {
        self.ecb(block, false)
    }

    fn ecb(&self, block: &[u8], encrypt: bool) -> Option<Vec<u8>> {
        match self.algorithm {
            Algorithm::Tdes => one_block::<des::TdesEde3>(&self.key, block, encrypt),
            Algorithm::Aes128 => one_block::<aes::Aes128>(&self.key, block, encrypt),
            Algorithm::Aes192 => one_block::<aes::Aes192>(&self.key, block, encrypt),
            Algorithm::Aes256 => one_block::<aes::Aes256>(&self.key, block, encrypt),
            _ => None,
        }
    }
}

fn one_block<C: KeyInit + BlockCipherEncrypt + BlockCipherDecrypt>(
    key: &[u8],
    block: &[u8],
    encrypt: bool,
) -> Option<Vec<u8>> {
    let cipher = C::new_from_slice(key).ok()?;
    let mut buf = Block::<C>::try_from(block).ok()?;
    if encrypt {
        cipher.encrypt_block(&mut buf);
    } else {
        cipher.decrypt_block(&mut buf);
    }
    Some(buf.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tdes_default_key_matches_known_answer() {
        // 3DES-EDE with the default key is single DES with 0102030405060708.
        let key = ManagementKey::factory(Algorithm::Tdes).unwrap();
        assert!(key.is_default());
        let ct = key.encrypt(&[0; 8]).unwrap();
        // openssl enc -des-ede3 -K 0102…08 (x3) -nopad on eight zero bytes.
        assert_eq!(ct, [0xb0, 0x73, 0xdc, 0x3f, 0xb2, 0x09, 0x53, 0x6d]);
        assert_eq!(key.decrypt(&ct).unwrap(), vec![0; 8]);
        assert_eq!(key.encrypt(&[0; 7]), None);
    }

    #[test]
    fn aes192_default_key_matches_known_answer() {
        let key = ManagementKey::factory(Algorithm::Aes192).unwrap();
        let ct = key.encrypt(&[0; 16]).unwrap();
        // openssl enc -aes-192-ecb -K 0102…08 (x3) -nopad on sixteen zero bytes.
        assert_eq!(hex::encode(ct), "5c8153e77589b223422406bf22908e22");
    }

    #[test]
    fn aes_keys_use_sixteen_byte_blocks() {
        for alg in [Algorithm::Aes128, Algorithm::Aes192, Algorithm::Aes256] {
            let key = ManagementKey::factory(alg).unwrap();
            assert_eq!(key.block_size(), 16);
            let ct = key.encrypt(&[7; 16]).unwrap();
            assert_eq!(key.decrypt(&ct).unwrap(), vec![7; 16]);
        }
        assert!(ManagementKey::new(Algorithm::Aes128, &[0; 24]).is_none());
        assert!(ManagementKey::new(Algorithm::EccP256, &[0; 32]).is_none());
    }
}
