//! The key derivation of CMS key agreement (RFC 5753 §7.2, used for X25519 too by
//! RFC 8418): the key-encryption key is the ANSI X9.63 KDF of the shared secret, with the
//! DER of ECC-CMS-SharedInfo as its shared info, so the key is bound to the wrap algorithm
//! and its length. Both sides of an exchange (encrypting and decrypting) derive it here.

use der::Encode;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use crate::hash::{HashAlg, Hasher};

/// ANSI X9.63 KDF (SEC 1 §3.6.1) as RFC 5753 §7.2 uses it.
pub fn x963_kdf(
    hash: HashAlg,
    shared_secret: &[u8],
    shared_info: &[u8],
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let block = hash.output_len();
    let mut out = Zeroizing::new(vec![0; len.div_ceil(block) * block]);
    for (counter, piece) in (1u32..).zip(out.chunks_mut(block)) {
        let mut hasher = Hasher::new(hash);
        hasher.update(shared_secret);
        hasher.update(&counter.to_be_bytes());
        hasher.update(shared_info);
        hasher.finish_into(piece);
    }
    out.truncate(len);
    out
}

/// ECC-CMS-SharedInfo (RFC 5753 §7.2).
#[derive(Clone, Debug, Eq, PartialEq, der::Sequence)]
struct EccCmsSharedInfo {
    key_info: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    entity_u_info: Option<OctetString>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    supp_pub_info: OctetString,
}

/// DER of ECC-CMS-SharedInfo (RFC 5753 §7.2): keyInfo = the wrap algorithm, entityUInfo = ukm,
/// suppPubInfo = key length in bits, 4 bytes big-endian.
pub fn ecc_cms_shared_info(
    wrap: &AlgorithmIdentifierOwned,
    ukm: Option<&[u8]>,
    key_bits: u32,
) -> der::Result<Vec<u8>> {
    EccCmsSharedInfo {
        key_info: wrap.clone(),
        entity_u_info: ukm.map(OctetString::new).transpose()?,
        supp_pub_info: OctetString::new(key_bits.to_be_bytes())?,
    }
    .to_der()
}

#[cfg(test)]
mod tests {
    use super::*;
    use const_oid::db::rfc5911;

    fn aes128_wrap() -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: rfc5911::ID_AES_128_WRAP,
            parameters: None,
        }
    }

    #[test]
    fn shared_info_is_the_der_rfc_5753_describes() {
        let der = ecc_cms_shared_info(&aes128_wrap(), None, 128).unwrap();
        assert_eq!(
            hex::encode(der),
            "3015300b0609608648016503040105a206040400000080"
        );
        let with_ukm = ecc_cms_shared_info(&aes128_wrap(), Some(b"ukm!"), 256).unwrap();
        assert_eq!(
            hex::encode(with_ukm),
            "301d300b0609608648016503040105a0060404756b6d21a206040400000100"
        );
    }

    /// The expected keys are what `openssl kdf X963KDF` derives from the same inputs.
    #[test]
    fn x963_kdf_matches_openssl() {
        let secret: Vec<u8> = (1..=32).collect();
        let info = ecc_cms_shared_info(&aes128_wrap(), None, 128).unwrap();
        assert_eq!(
            hex::encode(&*x963_kdf(HashAlg::Sha256, &secret, &info, 16)),
            "66865a004fb011c34f6cbaa075c7e787"
        );
        // Three SHA-1 blocks, the last one cut.
        assert_eq!(
            hex::encode(&*x963_kdf(HashAlg::Sha1, &secret, &info, 52)),
            "3d7ad3b9371ad52a5f2792d7bb6fa985b1c36a06987988b3e9e91bd07494b5341ac0ccc218953f6968e1436ce43747bbfdc5b85c"
        );
    }
}
