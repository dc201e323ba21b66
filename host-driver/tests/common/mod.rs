//! Steps the host driver's tests share, over any transport.

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::{Algorithm, Slot};
use host_driver::{PivCard, PublicKey, Transport};

/// Authenticates with the factory management key and generates a P-256 key in 9A.
pub fn p256_in_9a<T: Transport>(card: &mut PivCard<T>) -> PublicKey {
    card.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
        .unwrap();
    card.generate(Slot::Authentication, Algorithm::EccP256, None, None)
        .unwrap()
}
