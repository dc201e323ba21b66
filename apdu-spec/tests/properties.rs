//! Every APDU and TLV we encode parses back to itself, and no byte string panics a parser.

use apdu_spec::piv::templates::{
    ApplicationTemplate, DynamicAuth, GenerateRequest, PublicKeyTemplate,
};
use apdu_spec::piv::{Instruction, Metadata, ObjectId, PivCommand};
use apdu_spec::tlv::{self, Tag, Tlv};
use apdu_spec::{CommandApdu, Response};
use proptest::prelude::*;

fn any_apdu() -> impl Strategy<Value = CommandApdu> {
    (
        any::<[u8; 4]>(),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(any::<u8>(), 0..70_000)
        ],
        prop_oneof![
            Just(None),
            (1usize..=256).prop_map(Some),
            (1usize..=65_536).prop_map(Some)
        ],
        any::<bool>(),
    )
        .prop_filter("data fits an extended APDU", |(_, data, _, _)| {
            data.len() <= 65_535
        })
        .prop_map(|([cla, ins, p1, p2], data, le, extended)| {
            let apdu = CommandApdu {
                cla,
                ins,
                p1,
                p2,
                data: data.into(),
                le,
                extended,
            };
            // A case 1 command has no length fields to be extended; sizes beyond the
            // short ones are extended whatever was asked.
            let has_body = !apdu.data.is_empty() || apdu.le.is_some();
            CommandApdu {
                extended: (extended && has_body) || apdu.needs_extended(),
                ..apdu
            }
        })
}

fn any_tag() -> impl Strategy<Value = Tag> {
    prop_oneof![
        (0u32..=0xFF).prop_filter("single byte tag", |t| t & 0x1F != 0x1F),
        (0x1Fu32..=0xFF)
            .prop_filter("multi-byte first", |t| t & 0x1F == 0x1F)
            .prop_flat_map(|first| (0u32..0x80).prop_map(move |second| (first << 8) | second)),
        (0x1Fu32..=0xFF)
            .prop_filter("multi-byte first", |t| t & 0x1F == 0x1F)
            .prop_flat_map(|first| (0x80u32..=0xFF, 0u32..0x80)
                .prop_map(move |(a, b)| (first << 16) | (a << 8) | b)),
    ]
    .prop_map(Tag)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn apdus_round_trip(apdu in any_apdu()) {
        let bytes = apdu.encode().unwrap();
        prop_assert_eq!(CommandApdu::parse(&bytes).unwrap(), apdu);
    }

    #[test]
    fn tlvs_round_trip(tag in any_tag(), value in proptest::collection::vec(any::<u8>(), 0..70_000)) {
        let bytes = tlv::encode(tag, &value);
        let parsed = Tlv::parse_exact(&bytes).unwrap();
        prop_assert_eq!(parsed.tag, tag);
        prop_assert_eq!(parsed.value, &value[..]);
    }

    #[test]
    fn responses_round_trip(data in proptest::collection::vec(any::<u8>(), 0..600), sw in any::<u16>()) {
        let r = Response::new(data, apdu_spec::StatusWord(sw));
        prop_assert_eq!(Response::parse(&r.encode()).unwrap(), r);
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = CommandApdu::parse(&bytes).map(|apdu| PivCommand::parse(&apdu));
        let _ = Response::parse(&bytes);
        let _ = tlv::parse_all(&bytes);
        let _ = DynamicAuth::parse(&bytes);
        let _ = GenerateRequest::parse(&bytes);
        let _ = PublicKeyTemplate::parse(&bytes);
        let _ = ApplicationTemplate::parse(&bytes);
        let _ = Metadata::parse(&bytes);
        let _ = ObjectId::parse_tag_list(&bytes);
    }

    #[test]
    fn commands_the_card_reads_are_built_back_the_same(
        ins in proptest::sample::select(Instruction::ALL),
        p1 in proptest::sample::select(vec![0x00, 0x03, 0x04, 0x11, 0x3F, 0x82, 0x9A, 0xF9, 0xFF, 0x01]),
        p2 in proptest::sample::select(vec![0x00, 0x0C, 0x80, 0x81, 0x9B, 0x9C, 0xF9, 0xFE, 0xFF, 0x42]),
        data in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let apdu = CommandApdu::new(0, ins as u8, p1, p2).with_data(data);
        if let Ok(command) = PivCommand::parse(&apdu) {
            let built = command.to_apdu();
            let again = PivCommand::parse(&built).expect("a built command parses");
            prop_assert_eq!(again.to_apdu(), built);
        }
    }

    #[test]
    fn templates_round_trip(
        witness in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        challenge in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..600)),
        response in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        exponentiation in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100)),
    ) {
        let auth = DynamicAuth { witness, challenge, response, exponentiation };
        prop_assert_eq!(DynamicAuth::parse(&auth.encode()).unwrap(), auth);
    }
}
