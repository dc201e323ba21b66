//! The typed PIV commands: the bytes each is built into, that each reads back as
//! itself, and the status words a card answers for what it does not accept.

use apdu_spec::piv::command::*;
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::reference_data::{Credential, PaddedPin};
use apdu_spec::piv::templates::{DynamicAuth, ImportedKey};
use apdu_spec::piv::{Algorithm, KeyRef, ObjectId, PinPolicy, PivCommand, Slot, TouchPolicy};
use apdu_spec::{CommandApdu, StatusWord};
use zeroize::Zeroizing;

fn hex(command: impl Into<PivCommand>) -> String {
    hex::encode_upper(command.into().to_apdu().encode().unwrap())
}

fn parse_hex(s: &str) -> Result<PivCommand, StatusWord> {
    PivCommand::parse(&CommandApdu::parse(&hex::decode(s.replace(' ', "")).unwrap()).unwrap())
}

/// The bytes yubico-piv-tool and the YubiKey documentation show for each command.
#[test]
fn commands_encode_as_yubikeys_expect() {
    assert_eq!(hex(Select::piv()), "00A404000BA00000030800001000010000");
    assert_eq!(
        hex(Verify::Pin(PaddedPin::pad(b"123456"))),
        "0020008008313233343536FFFF"
    );
    assert_eq!(hex(Verify::Status), "00200080");
    assert_eq!(hex(Verify::LogOut), "0020FF80");
    assert_eq!(
        hex(ChangeReferenceData {
            credential: Credential::Puk,
            current: PaddedPin::pad(b"12345678"),
            new: PaddedPin::pad(b"87654321"),
        }),
        "002400811031323334353637383837363534333231"
    );
    assert_eq!(
        hex(GetData {
            object: ObjectId::CERT_AUTHENTICATION
        }),
        "00CB3FFF055C035FC10500"
    );
    assert_eq!(
        hex(PutData {
            object: ObjectId::CHUID,
            content: Zeroizing::new(vec![]),
        }),
        "00DB3FFF075C035FC1025300"
    );
    assert_eq!(
        hex(GenerateAsymmetricKeyPair {
            slot: Slot::Authentication,
            algorithm: Algorithm::EccP256,
            pin_policy: Some(PinPolicy::Once),
            touch_policy: None,
        }),
        "0047009A08AC06800111AA010200"
    );
    assert_eq!(hex(GetResponse { length: 256 }), "00C0000000");
    assert_eq!(hex(GetVersion), "00FD000000");
    assert_eq!(hex(GetSerial), "00F8000000");
    assert_eq!(
        hex(GetMetadata {
            key: KeyRef::MANAGEMENT
        }),
        "00F7009B00"
    );
    assert_eq!(
        hex(Attest {
            slot: Slot::Signature
        }),
        "00F99C0000"
    );
    let mut touch_key = ManagementKey::factory(Algorithm::Aes128).unwrap();
    touch_key.touch_required = true;
    assert_eq!(
        hex(SetManagementKey { key: touch_key }),
        "00FFFFFE13089B1001020304050607080102030405060708"
    );
    assert_eq!(hex(Reset), "00FB0000");
    assert_eq!(
        hex(SetPinRetries {
            pin_tries: 5,
            puk_tries: 3
        }),
        "00FA0503"
    );
    assert_eq!(
        hex(MoveKey {
            source: Slot::Authentication,
            destination: None
        }),
        "00F6FF9A"
    );
    assert_eq!(
        hex(MoveKey {
            source: Slot::Authentication,
            destination: Slot::retired(1)
        }),
        "00F6829A"
    );
}

#[test]
fn every_command_reads_back_as_itself() {
    let commands: Vec<PivCommand> = vec![
        Select::piv().into(),
        Verify::Pin(PaddedPin::pad(b"1234")).into(),
        Verify::Status.into(),
        Verify::LogOut.into(),
        ResetRetryCounter {
            puk: PaddedPin::pad(b"12345678"),
            new_pin: PaddedPin::pad(b"654321"),
        }
        .into(),
        GeneralAuthenticate::new(
            Algorithm::Tdes,
            AuthKey::Management,
            DynamicAuth {
                witness: Some(vec![]),
                ..Default::default()
            },
        )
        .into(),
        GeneralAuthenticate::new(
            Algorithm::Rsa2048,
            AuthKey::Slot(Slot::KeyManagement),
            DynamicAuth {
                response: Some(vec![]),
                challenge: Some(vec![0xAB; 256]),
                ..Default::default()
            },
        )
        .into(),
        ImportKey {
            slot: Slot::Attestation,
            algorithm: Algorithm::EccP384,
            key: ImportedKey::Ecc(vec![7; 48]),
            pin_policy: None,
            touch_policy: Some(TouchPolicy::Cached),
        }
        .into(),
        PutData {
            object: ObjectId::DISCOVERY,
            content: Zeroizing::new(vec![0x4F, 0x00]),
        }
        .into(),
    ];
    for command in commands {
        let apdu = command.to_apdu();
        let parsed = PivCommand::parse(&apdu).unwrap();
        assert_eq!(parsed.instruction(), command.instruction());
        assert_eq!(parsed.to_apdu(), apdu, "{command:?}");
    }
}

#[test]
fn p1p2_is_judged_before_the_data() {
    // VERIFY of the PUK: a key reference VERIFY does not take, however bad the data.
    assert_eq!(
        parse_hex("00 20 00 81 01 00").err(),
        Some(StatusWord::REFERENCE_DATA_NOT_FOUND)
    );
    assert_eq!(
        parse_hex("00 20 01 80").err(),
        Some(StatusWord::INCORRECT_P1P2)
    );
    assert_eq!(
        parse_hex("00 20 FF 80 01 00").err(),
        Some(StatusWord::INCORRECT_DATA)
    );
    assert_eq!(
        parse_hex("00 24 00 80 08 31 32 33 34 35 36 FF FF").err(),
        Some(StatusWord::INCORRECT_DATA)
    );
    assert_eq!(
        parse_hex("00 CB 3F 00 03 5C 01 7E").err(),
        Some(StatusWord::INCORRECT_P1P2)
    );
    // GENERAL AUTHENTICATE reads its template before its key reference.
    assert_eq!(
        parse_hex("00 87 11 9B 01 00").err(),
        Some(StatusWord::INCORRECT_DATA)
    );
    assert_eq!(
        parse_hex("00 87 11 42 02 7C 00").err(),
        Some(StatusWord::INCORRECT_P1P2)
    );
    // The attestation key is neither generated nor moved.
    assert_eq!(
        parse_hex("00 47 00 F9 05 AC 03 80 01 11").err(),
        Some(StatusWord::INCORRECT_P1P2)
    );
    assert_eq!(
        parse_hex("00 F6 FF F9").err(),
        Some(StatusWord::INCORRECT_P1P2)
    );
    assert_eq!(
        parse_hex("00 FF FF FD").err(),
        Some(StatusWord::INCORRECT_P1P2)
    );
    assert_eq!(
        parse_hex("00 FA 00 03").err(),
        Some(StatusWord::INCORRECT_P1P2)
    );
    assert_eq!(
        parse_hex("00 42 00 00").err(),
        Some(StatusWord::INS_NOT_SUPPORTED)
    );
}
