//! Object identifiers that `const_oid::db` lacks, and names for them in messages.
//!
//! Every other OID comes from `const_oid::db`, under the RFC that defines it: `rfc5912` for
//! the PKIX algorithms, `rfc5911` for CMS and S/MIME, `rfc8410` for Ed25519 and X25519,
//! `rfc5280` for certificate extensions and key purposes.

use const_oid::ObjectIdentifier as Oid;

/// ecdsa-with-SHA1 (RFC 3279 §2.2.3): still made on request, and refused by name when
/// verifying.
pub const ECDSA_WITH_SHA1: Oid = Oid::new_unwrap("1.2.840.10045.4.1");

/// The OID's name when the database knows it, else the dotted numbers.
pub fn name(oid: Oid) -> String {
    const_oid::db::DB
        .by_oid(&oid)
        .map(|name| format!("{name}, {oid}"))
        .unwrap_or_else(|| oid.to_string())
}
