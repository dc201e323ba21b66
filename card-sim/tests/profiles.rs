//! Each card model answers as it does where clients look: ATR, SELECT, version, the
//! instructions and algorithms it knows, its factory management key, its data objects,
//! and the status words of what it lacks.

mod common;

use apdu_spec::piv::chuid::{Chuid, FASC_N_NON_FEDERAL};
use apdu_spec::piv::command::{GetSerial, GetVersion, ImportKey, SetManagementKey, Verify};
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::templates::ImportedKey;
use apdu_spec::piv::{Algorithm, Instruction, KeyRef, ObjectId, Slot};
use apdu_spec::tlv::Tlv;
use apdu_spec::{Response, StatusWord, atr};
use card_sim::state::CreateError;
use card_sim::{Card, CardConfig, CardState, MetadataSupport, Profile};
use common::*;

fn card(profile: Profile) -> Card {
    let mut card = Card::in_memory(&profile.config()).unwrap();
    ok(select(&mut card));
    card
}

#[test]
fn version_serial_and_atr_are_the_models() {
    for (profile, version, serial, extended) in [
        (Profile::YubiKey, Some([5, 7, 1]), true, false),
        (Profile::YubiKey57, Some([5, 7, 1]), true, true),
        (Profile::YubiKey54, Some([5, 4, 3]), true, true),
        (Profile::YubiKey43, Some([4, 3, 7]), false, false),
        (Profile::Piv, None, false, false),
    ] {
        let mut card = card(profile);
        let answer = send(&mut card, GetVersion.to_apdu());
        match version {
            Some(v) => assert_eq!(ok(answer), v, "{profile}"),
            None => assert_eq!(answer.sw, StatusWord::INS_NOT_SUPPORTED, "{profile}"),
        }
        let answer = send(&mut card, GetSerial.to_apdu()).sw;
        let expected = if serial {
            StatusWord::SUCCESS
        } else {
            StatusWord::INS_NOT_SUPPORTED
        };
        assert_eq!(answer, expected, "{profile}: GET SERIAL came with 5.0");
        assert_eq!(
            atr::advertises_extended_length(card.atr()),
            extended,
            "{profile}"
        );
    }
    // The product's name in the historical bytes, before the check byte.
    assert_eq!(&card(Profile::YubiKey43).atr()[9..17], b"Yubikey4");
    assert_eq!(&card(Profile::YubiKey54).atr()[15..22], b"YubiKey");
}

#[test]
fn a_yubikey_model_selects_without_label_or_algorithm_list() {
    // The SELECT answer of a YubiKey (Yubico's .NET SDK manual, SELECT example).
    let yubikey = hex::decode("61114F0600001000010079074F05A000000308").unwrap();
    for profile in [Profile::YubiKey57, Profile::YubiKey54, Profile::YubiKey43] {
        let mut card = Card::in_memory(&profile.config()).unwrap();
        assert_eq!(ok(select(&mut card)), yubikey, "{profile}");
    }
    for profile in [Profile::YubiKey, Profile::Piv] {
        let mut card = Card::in_memory(&profile.config()).unwrap();
        let apt =
            apdu_spec::piv::templates::ApplicationTemplate::parse(&ok(select(&mut card))).unwrap();
        let listed = |a: Algorithm| apt.algorithms.contains(&a.to_byte());
        assert!(listed(Algorithm::EccP256), "{profile}");
        assert_eq!(listed(Algorithm::Ed25519), profile == Profile::YubiKey);
    }
}

#[test]
fn unsupported_algorithms_are_refused_as_the_model_does() {
    for profile in Profile::ALL {
        let mut card = card(profile);
        assert_eq!(authenticate(&mut card), StatusWord::SUCCESS, "{profile}");
        for algorithm in Algorithm::ASYMMETRIC {
            // RSA keys take long to make; the small ones stand for the family.
            if matches!(
                algorithm,
                Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096
            ) && profile.supports_key_algorithm(algorithm)
            {
                continue;
            }
            let sw = generate_with(&mut card, Slot::Authentication, algorithm, None, None).sw;
            let expected = if profile.supports_key_algorithm(algorithm) {
                StatusWord::SUCCESS
            } else {
                StatusWord::INCORRECT_DATA
            };
            assert_eq!(sw, expected, "{profile} generating {algorithm}");
        }
    }
    let import = ed25519_import();
    for (profile, expected) in [
        (Profile::YubiKey57, StatusWord::SUCCESS),
        (Profile::YubiKey54, StatusWord::INCORRECT_P1P2),
        (Profile::Piv, StatusWord::INS_NOT_SUPPORTED),
    ] {
        let mut card = card(profile);
        authenticate(&mut card);
        assert_eq!(send(&mut card, import.to_apdu()).sw, expected, "{profile}");
    }
}

/// An Ed25519 key for 9C: an algorithm that came with YubiKey 5.7.
fn ed25519_import() -> ImportKey {
    ImportKey {
        slot: Slot::Signature,
        algorithm: Algorithm::Ed25519,
        key: ImportedKey::Ed25519(vec![7; 32]),
        pin_policy: None,
        touch_policy: None,
    }
}

#[test]
fn instructions_a_model_lacks_answer_6d00() {
    let move_key = apdu_spec::piv::command::MoveKey {
        source: Slot::Authentication,
        destination: None,
    };
    for (profile, moves, metadata) in [
        (Profile::YubiKey57, true, true),
        (Profile::YubiKey54, false, true),
        (Profile::YubiKey43, false, false),
        (Profile::Piv, false, false),
    ] {
        let mut card = card(profile);
        authenticate(&mut card);
        let sw = send(&mut card, move_key.to_apdu()).sw;
        assert_eq!(
            sw == StatusWord::INS_NOT_SUPPORTED,
            !moves,
            "{profile}: {sw}"
        );
        let sw = metadata_sw(&mut card);
        assert_eq!(
            sw == StatusWord::INS_NOT_SUPPORTED,
            !metadata,
            "{profile}: {sw}"
        );
    }
}

fn metadata_sw(card: &mut Card) -> StatusWord {
    metadata(card, KeyRef::PIN).sw
}

#[test]
fn management_keys_follow_the_model() {
    // A 5.7 ships with the default key as AES-192, and says so in its metadata.
    let mut card = card(Profile::YubiKey57);
    assert_eq!(
        ok(metadata(&mut card, KeyRef::MANAGEMENT)),
        [0x01, 0x01, 0x0A, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x01]
    );
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    // The 3DES key of the same bytes is not it.
    let mut card = self::card(Profile::YubiKey57);
    assert_eq!(
        authenticate_with(&mut card, &ManagementKey::factory(Algorithm::Tdes).unwrap()),
        StatusWord::INCORRECT_P1P2
    );

    // A 4.3 takes 3DES only: AES is incorrect data, whether set or chosen at creation.
    let mut card = self::card(Profile::YubiKey43);
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let aes = SetManagementKey {
        key: ManagementKey::new(Algorithm::Aes128, &[3; 16]).unwrap(),
    };
    assert_eq!(
        send(&mut card, aes.to_apdu()).sw,
        StatusWord::INCORRECT_DATA
    );
    let refused = CardState::factory_new(&CardConfig {
        management_algorithm: Algorithm::Aes256,
        ..Profile::YubiKey43.config()
    });
    assert!(matches!(
        refused,
        Err(CreateError::ManagementAlgorithmNotOnModel { .. })
    ));
    let refused = CardState::factory_new(&CardConfig {
        metadata: MetadataSupport::Partial,
        ..Profile::YubiKey43.config()
    });
    assert!(matches!(refused, Err(CreateError::NoMetadataOnModel(_))));
    // Where the model allows it, the choice combines with the profile.
    let aes54 = CardState::factory_new(&CardConfig {
        management_algorithm: Algorithm::Aes128,
        ..Profile::YubiKey54.config()
    })
    .unwrap();
    assert_eq!(aes54.management_key.algorithm(), Algorithm::Aes128);
}

#[test]
fn log_out_by_verify_came_with_5_4_3() {
    for (profile, expected) in [
        (Profile::YubiKey54, StatusWord::SUCCESS),
        (Profile::Piv, StatusWord::SUCCESS),
        (Profile::YubiKey43, StatusWord::INCORRECT_P1P2),
    ] {
        let mut card = card(profile);
        assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
        assert_eq!(send(&mut card, Verify::LogOut.to_apdu()).sw, expected);
        assert_eq!(card.pin_verified(), expected != StatusWord::SUCCESS);
    }
}

#[test]
fn a_plain_piv_card_carries_a_government_chuid_and_ccc_and_no_attestation() {
    let mut card = Card::in_memory(&CardConfig {
        serial: Some(424242),
        ..Profile::Piv.config()
    })
    .unwrap();
    ok(select(&mut card));
    let object = ok(get_data(&mut card, ObjectId::CHUID));
    let chuid = Chuid::parse(Tlv::parse_exact(&object).unwrap().value).unwrap();
    assert_eq!(chuid.fasc_n.len(), 25);
    assert_ne!(chuid.fasc_n, FASC_N_NON_FEDERAL, "an agency's FASC-N");
    assert!(chuid.guid.is_some());
    let expiration = chuid.expiration.unwrap();
    assert!(
        expiration.as_str() > "2030" && expiration.len() == 8,
        "{expiration}"
    );
    let ccc = ok(get_data(&mut card, ObjectId::CARD_CAPABILITY_CONTAINER));
    // 53 L, then F0 15 with the GSC-RID.
    assert_eq!(&ccc[2..9], [0xF0, 0x15, 0xA0, 0x00, 0x00, 0x01, 0x16]);
    let discovery = ok(get_data(&mut card, ObjectId::DISCOVERY));
    assert!(
        discovery.ends_with(&[0x5F, 0x2F, 0x02, 0x40, 0x00]),
        "PIN usage policy"
    );
    assert_eq!(
        get_data(&mut card, ObjectId::YUBICO_ATTESTATION_CERT).sw,
        StatusWord::NOT_FOUND
    );
    assert!(!card.state().keys.contains_key(&Slot::Attestation));
    assert!(!card.state().answers(Instruction::Attest));
    // A YubiKey has no CCC out of the box.
    let mut yubikey = self::card(Profile::YubiKey54);
    assert_eq!(
        get_data(&mut yubikey, ObjectId::CARD_CAPABILITY_CONTAINER).sw,
        StatusWord::NOT_FOUND
    );
}

#[test]
fn the_profile_is_kept_in_the_state_file_and_a_file_without_one_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    drop(Card::open(&path, &Profile::YubiKey54.config()).unwrap());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(json["profile"], "yubikey-5.4");
    assert_eq!(json["firmware"], "5.4.3");
    let card = Card::open(&path, &CardConfig::default()).unwrap();
    assert_eq!(card.state().profile, Profile::YubiKey54);
    assert_eq!(card.atr(), card_sim::atr::YUBIKEY_5);

    // Files from before profiles: no field, the default profile.
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rsa-keys-card.json");
    let old = card_sim::FileStore::new(fixture).load().unwrap();
    assert_eq!(old.profile, Profile::YubiKey);
    let default = dir.path().join("default.json");
    drop(Card::open(&default, &CardConfig::default()).unwrap());
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&default).unwrap()).unwrap();
    assert!(json.get("profile").is_none(), "older card-sims read it");
}

#[test]
fn a_yubikey_4_tells_its_serial_through_the_otp_application_as_yubico_piv_tool_asks() {
    let mut card = Card::in_memory(&CardConfig {
        serial: Some(0x00AE_17CB),
        ..Profile::YubiKey43.config()
    })
    .unwrap();
    ok(select(&mut card));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    let otp = hex::decode("00A4040008A000000527200101").unwrap();
    let status = Response::parse(&card.transmit(&otp)).unwrap();
    assert_eq!(status.sw, StatusWord::SUCCESS);
    assert_eq!(&status.data[..3], [4, 3, 7]);
    let serial = Response::parse(&card.transmit(&[0x00, 0x01, 0x10, 0x00])).unwrap();
    assert_eq!(ok(serial), [0x00, 0xAE, 0x17, 0xCB]);
    // Back in PIV, the login is gone, as after any change of application.
    ok(select(&mut card));
    assert!(!card.pin_verified());
    assert_eq!(
        send(&mut card, GetSerial.to_apdu()).sw,
        StatusWord::INS_NOT_SUPPORTED
    );
}

#[test]
fn a_plain_piv_card_refuses_a_foreign_select_and_keeps_piv_selected() {
    let mut card = card(Profile::Piv);
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    let otp = hex::decode("00A4040007A0000005272001").unwrap();
    let answer = Response::parse(&card.transmit(&otp)).unwrap();
    assert_eq!(answer.sw, StatusWord::NOT_FOUND);
    assert!(card.pin_verified(), "the PIV application stays selected");
    ok(get_data(&mut card, ObjectId::CHUID));
    // A YubiKey deselects PIV instead.
    let mut yubikey = self::card(Profile::YubiKey);
    let other = hex::decode("00A4040005D276000124").unwrap();
    let answer = Response::parse(&yubikey.transmit(&other)).unwrap();
    assert_eq!(answer.sw, StatusWord::NOT_FOUND);
    assert_eq!(
        get_data(&mut yubikey, ObjectId::CHUID).sw,
        StatusWord::INS_NOT_SUPPORTED
    );
}

#[test]
fn show_names_the_profile_and_a_plain_card_has_no_version() {
    let summary = |profile: Profile| {
        card_sim::summary::summary(&CardState::factory_new(&profile.config()).unwrap())
    };
    let yubikey4 = summary(Profile::YubiKey43);
    assert!(
        yubikey4.contains("Profile:          yubikey-4.3 (YubiKey 4.3.7"),
        "{yubikey4}"
    );
    assert!(yubikey4.contains("Version:          4.3.7"), "{yubikey4}");
    let piv = summary(Profile::Piv);
    assert!(
        piv.contains("Profile:          piv (plain SP 800-73-4"),
        "{piv}"
    );
    assert!(piv.contains("Version:          none"), "{piv}");
    assert!(piv.contains("  (none)"), "no attestation key in F9: {piv}");
}

#[test]
fn init_choices_are_judged_by_what_the_model_is() {
    // A 4.3 has no GET METADATA: "absent" is what it is already.
    let absent = CardState::factory_new(&CardConfig {
        metadata: MetadataSupport::Absent,
        ..Profile::YubiKey43.config()
    })
    .unwrap();
    assert!(!absent.answers(Instruction::GetMetadata));
    // A YubiKey model keeps its instructions; only the default profile turns them off.
    for profile in [Profile::YubiKey57, Profile::YubiKey54, Profile::YubiKey43] {
        let refused = CardState::factory_new(&CardConfig {
            yubikey_extensions: false,
            ..profile.config()
        });
        assert!(
            matches!(refused, Err(CreateError::ExtensionsOnModel(p)) if p == profile),
            "{profile}: {refused:?}"
        );
    }
    for profile in [Profile::YubiKey, Profile::Piv] {
        CardState::factory_new(&CardConfig {
            yubikey_extensions: false,
            ..profile.config()
        })
        .unwrap();
    }
}

#[test]
fn a_card_without_yubikey_extensions_has_no_otp_application() {
    let otp = hex::decode("00A4040008A000000527200101").unwrap();
    let mut plain = Card::in_memory(&CardConfig {
        yubikey_extensions: false,
        ..Profile::YubiKey.config()
    })
    .unwrap();
    let answer = Response::parse(&plain.transmit(&otp)).unwrap();
    assert_eq!(answer.sw, StatusWord::NOT_FOUND);
    let mut yubikey = card(Profile::YubiKey);
    let answer = Response::parse(&yubikey.transmit(&otp)).unwrap();
    assert_eq!(answer.sw, StatusWord::SUCCESS);
}

#[test]
fn a_state_file_whose_extensions_the_model_cannot_have_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    for (profile, written, edited) in [
        (
            Profile::YubiKey57,
            "\"yubikey_extensions\": true",
            "\"yubikey_extensions\": false",
        ),
        (
            Profile::Piv,
            "\"yubikey_extensions\": false",
            "\"yubikey_extensions\": true",
        ),
    ] {
        let path = dir.path().join(format!("{profile}.json"));
        let store = card_sim::FileStore::new(&path);
        store
            .create(&CardState::factory_new(&profile.config()).unwrap())
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(written), "{text}");
        std::fs::write(&path, text.replace(written, edited)).unwrap();
        let refused = store.load().unwrap_err().to_string();
        assert!(
            refused.contains("yubikey_extensions") && refused.contains(profile.name()),
            "{refused}"
        );
    }
}

#[test]
fn import_of_an_algorithm_the_model_lacks_is_refused_before_the_management_key() {
    let ed25519 = ed25519_import();
    for (profile, expected) in [
        (Profile::YubiKey54, StatusWord::INCORRECT_P1P2),
        (Profile::YubiKey43, StatusWord::INCORRECT_P1P2),
        (
            Profile::YubiKey57,
            StatusWord::SECURITY_STATUS_NOT_SATISFIED,
        ),
    ] {
        let mut card = card(profile);
        assert_eq!(send(&mut card, ed25519.to_apdu()).sw, expected, "{profile}");
    }
    // P1 is judged before the data field too.
    let mut garbled = ed25519.to_apdu();
    garbled.data = vec![0xFF].into();
    assert_eq!(
        send(&mut card(Profile::YubiKey54), garbled).sw,
        StatusWord::INCORRECT_P1P2
    );
}

#[test]
fn a_yubikey_model_has_no_chuid_until_a_client_writes_one() {
    for profile in Profile::ALL {
        let mut card = card(profile);
        let chuid = get_data(&mut card, ObjectId::CHUID).sw;
        let expected = if matches!(profile, Profile::YubiKey | Profile::Piv) {
            StatusWord::SUCCESS
        } else {
            StatusWord::NOT_FOUND
        };
        assert_eq!(chuid, expected, "{profile}");
        assert_eq!(
            get_data(&mut card, ObjectId::DISCOVERY).sw,
            StatusWord::SUCCESS,
            "{profile}"
        );
    }
    let mut card = card(Profile::YubiKey57);
    authenticate(&mut card);
    let guid = [0x34, 0x01, 0x07];
    assert_eq!(
        put_data(&mut card, ObjectId::CHUID, &guid),
        StatusWord::SUCCESS
    );
    assert_eq!(
        ok(get_data(&mut card, ObjectId::CHUID)),
        [&[0x53, 0x03][..], &guid].concat()
    );
}
