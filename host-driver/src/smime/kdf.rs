//! The key derivation of ECDH key agreement in CMS (RFC 5753 §7.2): the ANSI X9.63 KDF
//! over the shared secret and the DER of ECC-CMS-SharedInfo, which binds the derived
//! key-encryption key to its wrap algorithm, its length and the sender's keying material.

use der::asn1::OctetString;
use der::{Encode, Sequence};
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
    let mut out = Zeroizing::new(vec![0u8; len.next_multiple_of(hash.output_len())]);
    for (counter, block) in (1u32..).zip(out.chunks_mut(hash.output_len())) {
        let mut hasher = Hasher::new(hash);
        hasher.update(shared_secret);
        hasher.update(&counter.to_be_bytes());
        hasher.update(shared_info);
        hasher.finish_into(block);
    }
    out.truncate(len);
    out
}

/// ECC-CMS-SharedInfo (RFC 5753 §7.2).
#[derive(Sequence)]
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
    use const_oid::db::rfc5911;

    use super::*;

    fn aes_wrap(oid: const_oid::ObjectIdentifier) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    #[test]
    fn shared_info_is_the_der_rfc_5753_describes() {
        let info = ecc_cms_shared_info(&aes_wrap(rfc5911::ID_AES_128_WRAP), None, 128).unwrap();
        assert_eq!(
            hex::encode(info),
            "3015300b0609608648016503040105a206040400000080"
        );
        let with_ukm =
            ecc_cms_shared_info(&aes_wrap(rfc5911::ID_AES_256_WRAP), Some(b"ukm"), 256).unwrap();
        assert_eq!(
            hex::encode(with_ukm),
            "301c300b060960864801650304012da0050403756b6da206040400000100"
        );
    }

    /// The answers of `openssl kdf -kdfopt digest:<hash> -kdfopt hexsecret:<secret>
    /// -kdfopt hexinfo:<info> X963KDF`.
    #[test]
    fn x963_kdf_agrees_with_openssl() {
        let secret = hex::decode("00112233445566778899aabbccddeeff").unwrap();
        let info = hex::decode("3015300b0609608648016503040105a206040400000080").unwrap();
        for (hash, len, expected) in [
            (
                HashAlg::Sha1,
                32,
                "edd4e1b32f5dd1512134022564567203\
                 0e936060d7c6cad29001bac66340a4b3",
            ),
            (HashAlg::Sha256, 16, "0a19ebff86f4d804684b443f34c61626"),
            (
                HashAlg::Sha384,
                32,
                "245a73d437c10de2b0bc8194c1df2f100791df26ca4f1fa0be11c81a3365bacf",
            ),
        ] {
            assert_eq!(
                hex::encode(x963_kdf(hash, &secret, &info, len)),
                expected,
                "{hash:?}"
            );
        }
    }
}
