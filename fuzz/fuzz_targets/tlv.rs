//! BER-TLV and the PIV templates built on it: any bytes either fail with an error or
//! parse into TLVs that encode and parse back to themselves.
#![no_main]

use apdu_spec::piv::Algorithm;
use apdu_spec::piv::chuid::{Chuid, KeyHistory};
use apdu_spec::piv::metadata::Metadata;
use apdu_spec::piv::object::{CertificateObject, ObjectId};
use apdu_spec::piv::pin_protected::{AdminData, StoredManagementKey};
use apdu_spec::piv::templates::{
    ApplicationTemplate, DynamicAuth, GenerateRequest, ImportKeyData, ManagementKeyData,
    PublicKeyTemplate,
};
use apdu_spec::tlv::{self, Tlv};
use libfuzzer_sys::fuzz_target;

/// Nesting followed at most this deep: each level is at least two bytes shorter, so the
/// input's length bounds it anyway; this keeps a run short.
const MAX_DEPTH: usize = 32;

fn walk(tlvs: &[Tlv<'_>], depth: usize) {
    for tlv in tlvs {
        let encoded = tlv.to_vec();
        assert_eq!(Tlv::parse_exact(&encoded).as_ref(), Ok(tlv));
        if depth < MAX_DEPTH
            && let Ok(children) = tlv.children()
        {
            walk(&children, depth + 1);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(tlvs) = tlv::parse_all(data) {
        walk(&tlvs, 0);
    }
    let _ = ObjectId::parse_tag_list(data);
    let _ = CertificateObject::parse(data);
    let _ = ApplicationTemplate::parse(data);
    let _ = DynamicAuth::parse(data);
    let _ = GenerateRequest::parse(data);
    let _ = PublicKeyTemplate::parse(data);
    let _ = ManagementKeyData::parse(data);
    let _ = Metadata::parse(data);
    let _ = Chuid::parse(data);
    let _ = KeyHistory::parse(data);
    let _ = AdminData::parse(data);
    let _ = StoredManagementKey::parse(data);
    if let Some((&algorithm, key)) = data.split_first()
        && let Some(algorithm) = Algorithm::from_byte(algorithm)
    {
        let _ = ImportKeyData::parse(algorithm, key);
    }
});
