//! What a trace leaves out: the secrets a PIV session carries, and only those, and what
//! is sent to any other application.
//!
//! Redacted are the data fields of VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER
//! (PINs, PUKs), SET MANAGEMENT KEY and IMPORT KEY; GENERAL AUTHENTICATE with the
//! management key (9B) both ways (witness, challenge, response: enough to attack the key
//! offline); and printed information (5FC109), both written and read, which holds the
//! PIN-protected management key by ykman's convention (only its tag list stays).
//!
//! A secret spans exchanges two ways, and the redactor follows both: the blocks of a
//! chained command after the first (an imported RSA key, an object written in parts) and
//! the GET RESPONSE answers that carry the rest of a redacted answer. A command that names
//! a secret-carrying instruction but does not parse keeps its header alone; so does a PUT
//! DATA whose tag list does not parse (a card may read it as 5FC109), and a GET DATA's
//! answer to such a list is redacted.
//!
//! Only PIV is judged by its instructions. The redactor follows SELECT, and while another
//! application is selected (a YubiKey's OTP application takes slot keys and access codes
//! as INS 01, its OATH application secrets as INS 01 too) the data of every command is
//! redacted, headers and lengths kept: another application's instruction bytes mean what
//! that application says, which a PIV trace cannot know.
//!
//! Everything else is kept: it is what a replay compares. That includes what a card
//! computes with its private keys (signatures, decrypted content keys, shared secrets),
//! certificates and public keys.

use std::ops::Range;

use crate::piv::command::Select;
use crate::piv::{Instruction, KeyRef, ObjectId};
use crate::{CommandApdu, StatusWord};

use super::TracedBytes;

/// One exchange with its secrets left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactedExchange {
    pub command: TracedBytes,
    pub response: TracedBytes,
}

/// Where a command's secret lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Secrecy {
    /// The command's data field is secret from this offset into it on.
    command_from: Option<usize>,
    /// The response's data is secret.
    response: bool,
}

impl Secrecy {
    const NONE: Self = Self {
        command_from: None,
        response: false,
    };
    const COMMAND: Self = Self {
        command_from: Some(0),
        response: false,
    };
}

/// A chained command in progress: the blocks that follow the first share its secrecy,
/// whole, as they carry no header of their own to judge by.
#[derive(Debug, Clone, Copy)]
struct Chain {
    ins: u8,
    secret: Secrecy,
}

/// The application the commands go to, as the SELECTs seen tell. A card powers on with
/// PIV selected, or nothing that takes a command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Application {
    #[default]
    Piv,
    Other,
}

/// Redacts the exchanges of one session in order; it must see every exchange, as chains,
/// GET RESPONSE and SELECT carry a secret from one exchange to the next.
#[derive(Debug, Default)]
pub struct Redactor {
    chain: Option<Chain>,
    /// The last answer was redacted and announced more (61xx) for GET RESPONSE.
    secret_continues: bool,
    selected: Application,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// The card lost power or was reset: no chain or pending answer survives.
    pub fn power_event(&mut self) {
        *self = Self::default();
    }

    pub fn exchange(&mut self, command: &[u8], response: &[u8]) -> RedactedExchange {
        let secret = self.secrecy(command);
        // The status word, when there is one, stays: it is what a failed step tells.
        let (data, sw) = match response.split_last_chunk::<2>() {
            Some((data, &[sw1, sw2])) => (data.len(), Some(StatusWord::from_bytes(sw1, sw2))),
            None => (response.len(), None),
        };
        self.secret_continues = secret.response && sw.and_then(StatusWord::remaining).is_some();
        self.follow_select(command, sw);
        RedactedExchange {
            command: match secret.command_from {
                Some(from) => redact_command(command, from),
                None => TracedBytes::clear(command),
            },
            response: if secret.response {
                TracedBytes::redacted(response, 0..data)
            } else {
                TracedBytes::clear(response)
            },
        }
    }

    /// Judges `command`, and notes the chain it begins, continues or ends.
    fn secrecy(&mut self, command: &[u8]) -> Secrecy {
        let Some(&[cla, ins, _, p2]) = command.first_chunk::<4>() else {
            self.chain = None;
            return Secrecy::NONE;
        };
        if ins == Instruction::GetResponse as u8 && self.secret_continues {
            return Secrecy {
                command_from: None,
                response: true,
            };
        }
        if self.selected == Application::Other && ins != Instruction::Select as u8 {
            // Every block of another application's chain is judged alone, all of it secret.
            self.chain = None;
            return Secrecy::COMMAND;
        }
        let chained = cla & crate::apdu::CLA_CHAINING != 0;
        let secret = match self.chain.take() {
            // A later block: all of its data belongs to the secret.
            Some(chain) if chain.ins == ins => Secrecy {
                command_from: chain.secret.command_from.map(|_| 0),
                ..chain.secret
            },
            _ => first_block_secrecy(command, ins, p2),
        };
        if chained {
            self.chain = Some(Chain { ins, secret });
        }
        secret
    }

    /// Notes the application a SELECT chose. One the card refused (an error status,
    /// 64xx to 6Fxx) changes nothing: the card keeps what it had selected, or deselects
    /// PIV and answers nothing else, and either way the commands after it are judged as
    /// before. Any other SELECT that does not name PIV by its AID selects something else,
    /// whatever its answer says.
    fn follow_select(&mut self, command: &[u8], sw: Option<StatusWord>) {
        let Ok(apdu) = CommandApdu::parse(command) else {
            return;
        };
        let refused = sw.is_some_and(|sw| matches!(sw.sw1(), 0x64..=0x6F));
        if apdu.ins != Instruction::Select as u8 || refused {
            return;
        }
        self.selected = match Select::parse(&apdu) {
            Ok(select) if select.selects_piv() => Application::Piv,
            _ => Application::Other,
        };
    }
}

/// The secrecy of a PIV command that begins a chain or stands alone.
fn first_block_secrecy(command: &[u8], ins: u8, p2: u8) -> Secrecy {
    let parsed = CommandApdu::parse(command);
    // The object a GET or PUT DATA names: `None` when the APDU or its tag list does not
    // parse, which a card may still have taken for printed information.
    let object = parsed
        .as_ref()
        .ok()
        .and_then(|apdu| ObjectId::parse_tag_list(&apdu.data).ok())
        .map(|(object, _)| object);
    match Instruction::from_byte(ins) {
        Some(
            Instruction::Verify
            | Instruction::ChangeReferenceData
            | Instruction::ResetRetryCounter
            | Instruction::SetManagementKey
            | Instruction::ImportKey,
        ) => Secrecy::COMMAND,
        Some(Instruction::GeneralAuthenticate) if KeyRef(p2) == KeyRef::MANAGEMENT => Secrecy {
            command_from: Some(0),
            response: true,
        },
        Some(Instruction::PutData) => match (object, &parsed) {
            // The tag list says which object; the content of printed information is secret.
            (Some(ObjectId::PRINTED_INFORMATION), Ok(apdu)) => Secrecy {
                command_from: Some(tag_list_len(&apdu.data)),
                response: false,
            },
            (Some(_), _) => Secrecy::NONE,
            (None, _) => Secrecy::COMMAND,
        },
        Some(Instruction::GetData) => Secrecy {
            command_from: None,
            response: object.is_none_or(|object| object == ObjectId::PRINTED_INFORMATION),
        },
        _ => Secrecy::NONE,
    }
}

/// The length of the tag list that starts a GET or PUT DATA data field.
fn tag_list_len(data: &[u8]) -> usize {
    ObjectId::parse_tag_list(data).map_or(0, |(_, rest)| data.len() - rest.len())
}

/// `command` with its data field redacted from `from` on; when it does not parse, all but
/// the header.
fn redact_command(command: &[u8], from: usize) -> TracedBytes {
    TracedBytes::redacted(
        command,
        data_field(command).map_or(4..command.len(), |data| {
            data.start + from.min(data.len())..data.end
        }),
    )
}

/// Where a command's data field lies in its bytes.
fn data_field(command: &[u8]) -> Option<Range<usize>> {
    let apdu = CommandApdu::parse(command).ok()?;
    let lc_len = match (apdu.data.is_empty(), apdu.extended) {
        (true, _) => 0,
        (false, false) => 1,
        // 00 marker and two length bytes.
        (false, true) => 3,
    };
    let start = 4 + lc_len;
    Some(start..start + apdu.data.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piv::command::{GeneralAuthenticate, GetData, PutData};

    fn hex(text: &str) -> Vec<u8> {
        hex::decode(text.replace(' ', "")).unwrap()
    }

    /// The traced command and response of one exchange, as text.
    fn traced(redactor: &mut Redactor, command: &str, response: &str) -> (String, String) {
        let r = redactor.exchange(&hex(command), &hex(response));
        (r.command.to_string(), r.response.to_string())
    }

    fn one(command: &str, response: &str) -> (String, String) {
        traced(&mut Redactor::new(), command, response)
    }

    #[test]
    fn pins_and_puks_are_redacted() {
        // VERIFY of PIN 123456 padded with FF.
        let (command, response) = one("00 20 00 80 08 313233343536FFFF", "9000");
        assert_eq!(command, "0020008008xxxxxxxxxxxxxxxx");
        assert_eq!(response, "9000");
        // CHANGE REFERENCE DATA: old and new PIN; RESET RETRY COUNTER: PUK and new PIN.
        let change = one("00 24 00 80 10 313233343536FFFF 363534333231FFFF", "9000").0;
        assert_eq!(change, format!("0024008010{}", "xx".repeat(16)));
        let reset = one("00 2C 00 80 10 3132333435363738 313233343536FFFF", "63C2").0;
        assert_eq!(reset, format!("002C008010{}", "xx".repeat(16)));
        // A VERIFY without data asks for the tries left: nothing to hide.
        assert_eq!(one("00 20 00 80", "63C3").0, "00200080");
    }

    #[test]
    fn management_keys_set_are_redacted() {
        // SET MANAGEMENT KEY: algorithm 03, key reference 9B, 24 key bytes.
        let key = "5A".repeat(24);
        let (command, _) = one(&format!("00 FF FF FF 1B 03 9B 18 {key}"), "9000");
        assert_eq!(command, format!("00FFFFFF1B{}", "xx".repeat(27)));
    }

    #[test]
    fn management_key_authentication_is_redacted_both_ways() {
        // Step 1: the host asks for a witness; the card's answer is the encrypted witness.
        let (command, response) = one(
            "00 87 03 9B 04 7C028000 00",
            "7C0A 8008 1122334455667788 9000",
        );
        assert_eq!(command, "008703 9B04xxxxxxxx00".replace(' ', ""));
        assert_eq!(response, format!("{}9000", "xx".repeat(12)));
        // A failed step still shows its status word.
        assert_eq!(one("00 87 03 9B 04 7C028000 00", "6982").1, "6982");
        // The same instruction with a slot key keeps all: that is the data a replay compares.
        let (command, response) = one("00 87 11 9C 06 7C04 8200 8100 00", "7C04 8202 AABB 9000");
        assert_eq!(command, "0087119C067C048200810000");
        assert_eq!(response, "7C048202AABB9000");
    }

    #[test]
    fn typed_management_key_authentication_is_redacted() {
        use crate::piv::templates::DynamicAuth;
        let challenge = DynamicAuth {
            challenge: Some(vec![0x42; 8]),
            response: Some(vec![0x24; 8]),
            ..DynamicAuth::default()
        };
        let ga = GeneralAuthenticate::new(
            crate::piv::Algorithm::Tdes,
            crate::piv::command::AuthKey::Management,
            challenge,
        );
        let bytes = ga.to_apdu().encode().unwrap();
        let text = Redactor::new()
            .exchange(&bytes, &hex("7C0A820824242424242424249000"))
            .response
            .to_string();
        assert!(!text.contains("2424"), "{text}");
        let command = Redactor::new()
            .exchange(&bytes, &[0x90, 0x00])
            .command
            .to_string();
        assert!(
            !command.contains("4242") && !command.contains("2424"),
            "{command}"
        );
    }

    #[test]
    fn every_block_of_an_imported_key_is_redacted() {
        let mut redactor = Redactor::new();
        // IMPORT KEY of an RSA key in three short blocks, the key bytes all C3.
        let block = "C3".repeat(255);
        for cla in ["10", "10", "00"] {
            let (command, _) = traced(&mut redactor, &format!("{cla} FE 07 9C FF {block}"), "9000");
            assert!(!command.contains("C3"), "{command}");
            assert_eq!(command, format!("{cla}FE079CFF{}", "xx".repeat(255)));
        }
    }

    #[test]
    fn chained_blocks_after_the_first_stay_redacted() {
        let mut redactor = Redactor::new();
        // Printed information written in two blocks: the second has no tag list to judge by.
        let (first, _) = traced(&mut redactor, "10 DB 3F FF 09 5C035FC109 5308 8806", "9000");
        assert_eq!(first, format!("10DB3FFF095C035FC109{}", "xx".repeat(4)));
        let (second, _) = traced(&mut redactor, "00 DB 3F FF 06 8904 DEADBEEF", "9000");
        assert_eq!(second, format!("00DB3FFF06{}", "xx".repeat(6)));
        // The chain ended: a certificate written next is kept.
        let (cert, _) = traced(&mut redactor, "00 DB 3F FF 09 5C035FC10A 5302 7000", "9000");
        assert_eq!(cert, "00DB3FFF095C035FC10A53027000");
        // A chained certificate's blocks are kept too.
        let (a, _) = traced(&mut redactor, "10 DB 3F FF 07 5C035FC10A 5382", "9000");
        let (b, _) = traced(&mut redactor, "00 DB 3F FF 02 0102", "9000");
        assert_eq!(
            (a.as_str(), b.as_str()),
            ("10DB3FFF075C035FC10A5382", "00DB3FFF020102")
        );
    }

    #[test]
    fn printed_information_is_redacted_read_and_written() {
        let put = PutData {
            object: ObjectId::PRINTED_INFORMATION,
            content: zeroize::Zeroizing::new(hex("880A 8908 0102030405060708")),
        }
        .to_apdu()
        .encode()
        .unwrap();
        let text = Redactor::new()
            .exchange(&put, &hex("9000"))
            .command
            .to_string();
        assert!(text.starts_with("00DB3FFF"), "{text}");
        assert!(
            text.contains("5C035FC109"),
            "the object stays named: {text}"
        );
        assert!(!text.contains("0102030405060708"), "{text}");

        let get = GetData {
            object: ObjectId::PRINTED_INFORMATION,
        }
        .to_apdu()
        .encode()
        .unwrap();
        let answer = hex("530C 880A 8908 0102030405060708 9000");
        let (command, response) = {
            let r = Redactor::new().exchange(&get, &answer);
            (r.command.to_string(), r.response.to_string())
        };
        assert_eq!(command, "00CB3FFF055C035FC10900");
        assert_eq!(response, format!("{}9000", "xx".repeat(14)));
        // Another object's answer is kept.
        let chuid = GetData {
            object: ObjectId::CHUID,
        }
        .to_apdu()
        .encode()
        .unwrap();
        assert_eq!(
            Redactor::new()
                .exchange(&chuid, &hex("5302 3000 9000"))
                .response
                .to_string(),
            "530230009000"
        );
    }

    #[test]
    fn get_response_continuations_of_a_redacted_answer_are_redacted() {
        let mut redactor = Redactor::new();
        let (_, first) = traced(
            &mut redactor,
            "00 CB 3F FF 05 5C035FC109 00",
            "5381 AA 0102 6104",
        );
        assert_eq!(first, format!("{}6104", "xx".repeat(5)));
        let (_, more) = traced(&mut redactor, "00 C0 00 00 04", "03040506 6102");
        assert_eq!(more, format!("{}6102", "xx".repeat(4)));
        let (_, last) = traced(&mut redactor, "00 C0 00 00 02", "0708 9000");
        assert_eq!(last, "xxxx9000");
        // The answer is complete: the next GET RESPONSE belongs to a kept answer.
        traced(&mut redactor, "00 CB 3F FF 03 5C017E 00", "7E02 4F00 6102");
        let (_, kept) = traced(&mut redactor, "00 C0 00 00 02", "0102 9000");
        assert_eq!(kept, "01029000");
    }

    #[test]
    fn a_power_event_ends_a_chain_and_a_pending_answer() {
        let mut redactor = Redactor::new();
        traced(&mut redactor, "00 CB 3F FF 05 5C035FC109 00", "5301 6101");
        redactor.power_event();
        assert_eq!(
            traced(&mut redactor, "00 C0 00 00 01", "AA 9000").1,
            "AA9000"
        );
    }

    #[test]
    fn malformed_commands_that_may_carry_secrets_keep_their_header_alone() {
        // Lc says 8, 6 follow: a PIN that does not parse is a PIN still.
        assert_eq!(
            one("00 20 00 80 08 313233343536", "6700").0,
            format!("00200080{}", "xx".repeat(7))
        );
        assert_eq!(one("00 DB 3F FF 09 5C03", "6700").0, "00DB3FFFxxxxxx");
        // Other malformed commands are kept, as are the ones shorter than a header.
        assert_eq!(one("00 CA 01", "6700").0, "00CA01");
    }

    #[test]
    fn get_and_put_data_with_a_tag_list_that_does_not_parse_are_redacted() {
        // The APDU parses, its tag list (four bytes long) does not: it may name 5FC109.
        assert_eq!(
            one("00 DB 3F FF 0A 5C04 005FC109 5302 8800", "6A80").0,
            format!("00DB3FFF0A{}", "xx".repeat(10))
        );
        // A GET DATA of such a list is answered redacted, whatever the card made of it.
        assert_eq!(
            one("00 CB 3F FF 06 5C04005FC109 00", "5302 8800 9000").1,
            "xxxxxxxx9000"
        );
    }

    #[test]
    fn another_applications_command_data_is_redacted_until_piv_is_selected() {
        let mut redactor = Redactor::new();
        // SELECT of the YubiKey OTP application is kept: an AID is no secret.
        let (select, _) = traced(
            &mut redactor,
            "00 A4 04 00 07 A0000005272001",
            "050702000000 9000",
        );
        assert_eq!(select, "00A4040007A0000005272001");
        // Its slot configuration (INS 01, slot 1): an AES key and an access code.
        let config = format!("{}{}", "5A".repeat(16), "00".repeat(36));
        let (command, response) = traced(
            &mut redactor,
            &format!("00 01 01 00 34 {config}"),
            "050702010000 9000",
        );
        assert_eq!(command, format!("0001010034{}", "xx".repeat(52)));
        assert_eq!(response, "0507020100009000");
        // An instruction PIV knows as harmless is another application's secret too.
        let (chained, _) = traced(&mut redactor, "10 DB 3F FF 02 4142", "9000");
        assert_eq!(chained, "10DB3FFF02xxxx");
        // PIV selected again: its commands are judged as PIV's, SELECT by a prefix included.
        let (select, _) = traced(&mut redactor, "00 A4 04 00 05 A000000308", "61 11");
        assert_eq!(select, "00A4040005A000000308");
        assert_eq!(
            traced(
                &mut redactor,
                "00 CB 3F FF 05 5C035FC102 00",
                "5302 3000 9000"
            )
            .0,
            "00CB3FFF055C035FC10200"
        );
        assert_eq!(
            traced(&mut redactor, "00 20 00 80 08 313233343536FFFF", "9000").0,
            format!("0020008008{}", "xx".repeat(8))
        );
    }

    #[test]
    fn a_select_the_card_refused_changes_nothing() {
        let mut redactor = Redactor::new();
        // ykman asks for its management application; a PIV card does not have it.
        traced(&mut redactor, "00 A4 04 00 08 A000000527471117", "6A82");
        let cert = "00DB3FFF095C035FC10A53027000";
        assert_eq!(traced(&mut redactor, cert, "9000").0, cert);
        // Another application selected: a refused SELECT of PIV does not end it.
        traced(&mut redactor, "00 A4 04 00 07 A0000005272001", "9000");
        traced(
            &mut redactor,
            "00 A4 04 00 0B A00000030800001000010000",
            "6A82",
        );
        assert_eq!(
            traced(&mut redactor, "00 01 01 00 02 5A5A", "9000").0,
            "0001010002xxxx"
        );
        // A power event returns the card to PIV.
        redactor.power_event();
        assert_eq!(traced(&mut redactor, cert, "9000").0, cert);
    }

    #[test]
    fn extended_commands_are_redacted_at_their_data_field() {
        // Extended Lc (00 0008) then 8 PIN bytes.
        let (command, _) = one("00 20 00 80 000008 313233343536FFFF", "9000");
        assert_eq!(command, format!("00200080000008{}", "xx".repeat(8)));
    }
}
