mod common;
use apdu_spec::piv::{Algorithm, Slot};
use apdu_spec::StatusWord;
use common::*;

#[test]
fn smoke() {
    let mut card = fresh();
    ok(select(&mut card));
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let _pk = generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    private_op(&mut card, Slot::Authentication, Algorithm::EccP256, &[1; 32]).unwrap();
}
