//! The signed attributes S/MIME adds that the `cms` crate has no types for:
//! SMIMECapabilities (RFC 8551 §2.5.2) and ESS signingCertificateV2 (RFC 5035).

use der::Sequence;
use der::asn1::{Any, ObjectIdentifier, OctetString};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralNames;
use x509_cert::serial_number::SerialNumber;

/// `SMIMECapability ::= SEQUENCE { capabilityID OBJECT IDENTIFIER, parameters ANY OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SmimeCapability {
    pub capability_id: ObjectIdentifier,
    pub parameters: Option<Any>,
}

/// `SMIMECapabilities ::= SEQUENCE OF SMIMECapability`, most preferred first.
pub type SmimeCapabilities = Vec<SmimeCapability>;

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: GeneralNames,
    pub serial_number: SerialNumber,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {id-sha256},
/// certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }`; `None` is SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    pub issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2,
/// policies SEQUENCE OF PolicyInformation OPTIONAL }` (policies are never sent here).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn sha256_hash_algorithm_is_omitted_as_the_default() {
        let id = EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(vec![0xAB; 32]).unwrap(),
            issuer_serial: None,
        };
        let v2 = SigningCertificateV2 { certs: vec![id] };
        let der = v2.to_der().unwrap();
        // SigningCertificateV2, SEQUENCE OF, ESSCertIDv2 without hashAlgorithm, certHash.
        assert_eq!(&der[..8], &[0x30, 0x26, 0x30, 0x24, 0x30, 0x22, 0x04, 0x20]);
        assert_eq!(SigningCertificateV2::from_der(&der).unwrap(), v2);
    }
}
