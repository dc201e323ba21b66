//! One command, however many APDUs it takes: command chaining (or one extended APDU
//! where the card advertises them), GET RESPONSE while the card says 61xx, and a resend
//! with the right Le on 6Cxx (never of a PIN or PUK). It also notes whether a PIN or PUK
//! went out, which decides whether an operation the card was reset under may be redone.

use apdu_spec::apdu::{CLA_CHAINING, SHORT_MAX_DATA};
use apdu_spec::piv::PivCommand;
use apdu_spec::piv::command::{GetResponse, Verify};
use apdu_spec::{CommandApdu, Response, StatusWord, describe};
use log::debug;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::transport::Link;

/// GET RESPONSE rounds before a card that never stops saying 61xx is given up on.
const MAX_RESPONSE_ROUNDS: usize = 1024;

/// How far a command carrying a PIN or PUK (VERIFY with data, CHANGE REFERENCE DATA,
/// RESET RETRY COUNTER) got in one transaction. Once such a command may have reached the
/// card, redoing the operation would spend a try or log in a second time: it is not redone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum SecretSent {
    /// None was sent.
    #[default]
    No,
    /// One went to the transport without an answer: the card may have acted on it.
    Possibly,
    /// The card answered one.
    Answered,
}

pub(crate) struct Exchange<'a> {
    pub link: &'a mut dyn Link,
    /// Whether to send large commands as one extended APDU instead of a chain.
    pub extended: bool,
    pub secret_sent: SecretSent,
    /// The card accepted a PIN in a VERIFY: from here on, the login is this exchange's.
    pub pin_verified: bool,
}

impl Exchange<'_> {
    /// One APDU each way. Both byte strings may hold secrets (a PIN, a decrypted key) and
    /// are wiped once read.
    fn transmit(&mut self, cmd: &CommandApdu) -> Result<Response> {
        let bytes = Zeroizing::new(
            cmd.encode()
                .map_err(|e| Error::InvalidArgument(e.to_string()))?,
        );
        let raw = Zeroizing::new(self.link.transmit(&bytes)?);
        let response = Response::parse(&raw)
            .ok_or_else(|| Error::malformed("a response without status word"))?;
        debug!(
            "{} -> {}",
            describe::command(cmd),
            describe::response(cmd.ins, &response)
        );
        Ok(response)
    }

    /// Sends a command and gathers the whole response.
    pub fn send(&mut self, command: impl Into<PivCommand>) -> Result<Response> {
        let command = command.into();
        let carries_secret = matches!(
            command,
            PivCommand::Verify(Verify::Pin(_))
                | PivCommand::ChangeReferenceData(_)
                | PivCommand::ResetRetryCounter(_)
        );
        if carries_secret && self.secret_sent == SecretSent::No {
            self.secret_sent = SecretSent::Possibly;
        }
        let response = self.send_apdu(command.to_apdu(), carries_secret)?;
        if carries_secret {
            self.secret_sent = SecretSent::Answered;
        }
        if matches!(command, PivCommand::Verify(Verify::Pin(_))) && response.sw.is_success() {
            self.pin_verified = true;
        }
        Ok(response)
    }

    /// `carries_secret`: the command holds a PIN or PUK, and is sent once whatever the card
    /// answers (a resend would spend a try or log in again).
    fn send_apdu(&mut self, cmd: CommandApdu, carries_secret: bool) -> Result<Response> {
        let mut response = if cmd.data.len() > SHORT_MAX_DATA && !self.extended {
            self.send_chained(&cmd)?
        } else {
            let response = self.transmit(&cmd)?;
            match response.sw.exact_le() {
                // These commands have no response data, so asking for a length is no
                // answer to them.
                Some(_) if carries_secret => {
                    return Err(Error::malformed(format!(
                        "the card answered a command carrying a PIN or PUK with {}",
                        response.sw
                    )));
                }
                Some(le) => self.transmit(&cmd.clone().with_le(le))?,
                None => response,
            }
        };
        let mut rounds = 0;
        while let Some(length) = response.sw.remaining() {
            rounds += 1;
            if rounds > MAX_RESPONSE_ROUNDS {
                return Err(Error::malformed("the card never finished its response"));
            }
            let mut more = self.transmit(&GetResponse { length }.to_apdu())?;
            append_wiping(&mut response.data, &more.data);
            more.data.zeroize();
            response.sw = more.sw;
        }
        Ok(response)
    }

    fn send_chained(&mut self, cmd: &CommandApdu) -> Result<Response> {
        let blocks: Vec<&[u8]> = cmd.data.chunks(SHORT_MAX_DATA).collect();
        let last = blocks.len() - 1;
        for block in &blocks[..last] {
            let part = CommandApdu {
                cla: cmd.cla | CLA_CHAINING,
                data: block.to_vec().into(),
                le: None,
                ..cmd.clone()
            };
            let r = self.transmit(&part)?;
            if r.sw != StatusWord::SUCCESS {
                return Ok(r);
            }
        }
        let tail = CommandApdu {
            data: blocks[last].to_vec().into(),
            ..cmd.clone()
        };
        self.transmit(&tail)
    }

    /// Sends and returns the data on 9000; any other status word becomes an error.
    pub fn expect(
        &mut self,
        name: &'static str,
        command: impl Into<PivCommand>,
    ) -> Result<Vec<u8>> {
        let r = self.send(command)?;
        if r.sw.is_success() {
            Ok(r.data)
        } else {
            Err(Error::from_status(name, r.sw))
        }
    }
}

/// Appends `more` to `data`. A buffer too small is replaced by a larger one and wiped, so
/// growing an answer (a decrypted key, a shared secret) leaves no copy in freed memory.
fn append_wiping(data: &mut Vec<u8>, more: &[u8]) {
    if data.capacity() - data.len() < more.len() {
        let mut grown = Vec::with_capacity(2 * (data.len() + more.len()));
        grown.extend_from_slice(data);
        data.zeroize();
        *data = grown;
    }
    data.extend_from_slice(more);
}

#[cfg(test)]
mod tests {
    use apdu_spec::piv::command::GetVersion;
    use apdu_spec::piv::reference_data::PaddedPin;

    use super::*;
    use crate::transport::TransportError;

    /// A card that answers every command with one status word (and, on a command that
    /// names its Le, with that many bytes and 9000), and counts the commands it got.
    struct AsksForLe {
        sw: StatusWord,
        commands: usize,
    }

    impl Link for AsksForLe {
        fn transmit(&mut self, apdu: &[u8]) -> std::result::Result<Vec<u8>, TransportError> {
            self.commands += 1;
            let cmd = CommandApdu::parse(apdu).expect("the client sends well-formed APDUs");
            Ok(match cmd.le {
                Some(le) if self.commands > 1 => [vec![0; le], vec![0x90, 0x00]].concat(),
                _ => self.sw.to_bytes().to_vec(),
            })
        }
    }

    fn exchange(link: &mut AsksForLe) -> Exchange<'_> {
        Exchange {
            link,
            extended: false,
            secret_sent: SecretSent::No,
            pin_verified: false,
        }
    }

    #[test]
    fn a_6cxx_to_a_pin_is_an_error_and_the_pin_is_not_sent_again() {
        let mut card = AsksForLe {
            sw: StatusWord::wrong_le(5),
            commands: 0,
        };
        let mut x = exchange(&mut card);
        let pin = Verify::Pin(PaddedPin::pad(b"123456"));
        assert!(matches!(x.send(pin), Err(Error::Malformed(_))));
        assert!(!x.pin_verified);
        assert_eq!(card.commands, 1);
    }

    #[test]
    fn a_6cxx_to_a_command_without_a_secret_is_answered_with_its_le() {
        let mut card = AsksForLe {
            sw: StatusWord::wrong_le(3),
            commands: 0,
        };
        let r = exchange(&mut card).send(GetVersion).unwrap();
        assert_eq!((r.sw, r.data.len()), (StatusWord::SUCCESS, 3));
        assert_eq!(card.commands, 2);
    }
}
