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

/// The DES weak and semi-weak keys (FIPS 74 §3.6), parity bits included as usually
/// written; compared with the parity bits cleared.
const WEAK_DES_KEYS: [[u8; 8]; 16] = [
    // Weak: encryption is its own inverse.
    [0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01],
    [0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE],
    [0x1F, 0x1F, 0x1F, 0x1F, 0x0E, 0x0E, 0x0E, 0x0E],
    [0xE0, 0xE0, 0xE0, 0xE0, 0xF1, 0xF1, 0xF1, 0xF1],
    // Semi-weak, in pairs: each decrypts what the other encrypts.
    [0x01, 0xFE, 0x01, 0xFE, 0x01, 0xFE, 0x01, 0xFE],
    [0xFE, 0x01, 0xFE, 0x01, 0xFE, 0x01, 0xFE, 0x01],
    [0x1F, 0xE0, 0x1F, 0xE0, 0x0E, 0xF1, 0x0E, 0xF1],
    [0xE0, 0x1F, 0xE0, 0x1F, 0xF1, 0x0E, 0xF1, 0x0E],
    [0x01, 0xE0, 0x01, 0xE0, 0x01, 0xF1, 0x01, 0xF1],
    [0xE0, 0x01, 0xE0, 0x01, 0xF1, 0x01, 0xF1, 0x01],
    [0x1F, 0xFE, 0x1F, 0xFE, 0x0E, 0xFE, 0x0E, 0xFE],
    [0xFE, 0x1F, 0xFE, 0x1F, 0xFE, 0x0E, 0xFE, 0x0E],
    [0x01, 0x1F, 0x01, 0x1F, 0x01, 0x0E, 0x01, 0x0E],
    [0x1F, 0x01, 0x1F, 0x01, 0x0E, 0x01, 0x0E, 0x01],
    [0xE0, 0xFE, 0xE0, 0xFE, 0xF1, 0xFE, 0xF1, 0xFE],
    [0xFE, 0xE0, 0xFE, 0xE0, 0xFE, 0xF1, 0xFE, 0xF1],
];

/// Why a 3DES key is too weak to be set as a new management key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakKey {
    /// K1 = K2 or K2 = K3: 3DES-EDE then collapses to single DES.
    #[error(
        "its {} and {} parts are the same DES key, so it is no stronger than single DES",
        part_name(*.0),
        part_name(*.0 + 1)
    )]
    Degenerate(usize),
    /// One 8-byte part is a DES weak or semi-weak key.
    #[error("its {} part is a DES weak or semi-weak key", part_name(*.0))]
    WeakPart(usize),
}

fn part_name(index: usize) -> &'static str {
    ["first", "second", "third"]
        .get(index)
        .copied()
        .unwrap_or("unknown")
}

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

    /// Why this key should not be set on a card, if it should not: a 3DES key whose
    /// 8-byte parts repeat (K1 = K2 or K2 = K3) or include a DES weak or semi-weak key,
    /// parity bits ignored, as yubico-piv-tool refuses them. Two-key 3DES (K1 = K3) and
    /// AES keys pass. Authenticating with a weak key is another matter: the factory key
    /// is one (K1 = K2 = K3), and cards are sold with it.
    pub fn weakness(&self) -> Option<WeakKey> {
        if self.algorithm != Algorithm::Tdes {
            return None;
        }
        // Key material: wiped when dropped, and compared in constant time.
        let parts: Zeroizing<Vec<[u8; 8]>> = Zeroizing::new(
            self.key
                .chunks_exact(8)
                .map(|part| std::array::from_fn(|i| part[i] & 0xFE))
                .collect(),
        );
        let same = |a: &[u8; 8], b: &[u8; 8]| bool::from(a.ct_eq(b));
        let weak = |part: &[u8; 8]| {
            WEAK_DES_KEYS.iter().fold(false, |found, weak| {
                found | same(&weak.map(|w| w & 0xFE), part)
            })
        };
        if let Some(i) = (0..parts.len() - 1).find(|&i| same(&parts[i], &parts[i + 1])) {
            return Some(WeakKey::Degenerate(i));
        }
        parts.iter().position(weak).map(WeakKey::WeakPart)
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
    fn weak_and_degenerate_3des_keys_are_named_parity_bits_ignored() {
        let tdes = |text: &str| {
            let bytes = hex::decode(text.replace(' ', "")).unwrap();
            ManagementKey::new(Algorithm::Tdes, &bytes).unwrap()
        };
        let factory = ManagementKey::factory(Algorithm::Tdes).unwrap();
        assert_eq!(factory.weakness(), Some(WeakKey::Degenerate(0)));
        for (key, weakness) in [
            (
                "0011223344556677 0011223344556677 8899aabbccddeeff",
                Some(WeakKey::Degenerate(0)),
            ),
            (
                "0011223344556677 8899aabbccddeeff 8998abbacddceffe",
                Some(WeakKey::Degenerate(1)),
            ),
            (
                "0011223344556677 8899aabbccddeeff fee0fee0fef1fef0",
                Some(WeakKey::WeakPart(2)),
            ),
            (
                "0000000000000000 0011223344556677 8899aabbccddeeff",
                Some(WeakKey::WeakPart(0)),
            ),
            ("0011223344556677 8899aabbccddeeff 0011223344556677", None),
            ("0123456789abcdef fedcba9876543210 89abcdef01234567", None),
        ] {
            assert_eq!(tdes(key).weakness(), weakness, "{key}");
        }
        assert_eq!(
            WeakKey::Degenerate(1).to_string(),
            "its second and third parts are the same DES key, so it is no stronger than single DES"
        );
        for alg in [Algorithm::Aes128, Algorithm::Aes192, Algorithm::Aes256] {
            let len = alg.symmetric_key_len().unwrap();
            assert_eq!(
                ManagementKey::new(alg, &vec![1; len]).unwrap().weakness(),
                None
            );
        }
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
