//! One command, however many APDUs it takes: command chaining (or one extended APDU
//! where the card advertises them), GET RESPONSE while the card says 61xx, and a resend
//! with the right Le on 6Cxx.

use apdu_spec::apdu::SHORT_MAX_DATA;
use apdu_spec::piv::Instruction;
use apdu_spec::{CommandApdu, Response, StatusWord, describe};
use log::debug;

use crate::error::{Error, Result};
use crate::transport::Link;

/// GET RESPONSE rounds before a card that never stops saying 61xx is given up on.
const MAX_RESPONSE_ROUNDS: usize = 1024;

pub(crate) struct Exchange<'a> {
    pub link: &'a mut dyn Link,
    /// Whether to send large commands as one extended APDU instead of a chain.
    pub extended: bool,
}

impl Exchange<'_> {
    fn transmit(&mut self, cmd: &CommandApdu) -> Result<Response> {
        let bytes = cmd
            .encode()
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let raw = self.link.transmit(&bytes)?;
        let response = Response::parse(&raw)
            .ok_or_else(|| Error::malformed("a response without status word"))?;
        debug!(
            "{} -> {}",
            describe::command(cmd),
            describe::response(cmd.ins, &response)
        );
        Ok(response)
    }

    /// Sends `cmd` (with Le 256 when it expects data) and gathers the whole response.
    pub fn send(&mut self, cmd: CommandApdu) -> Result<Response> {
        let mut response = if cmd.data.len() > SHORT_MAX_DATA && !self.extended {
            self.send_chained(&cmd)?
        } else {
            let response = self.transmit(&cmd)?;
            match response.sw.exact_le() {
                Some(le) => self.transmit(&cmd.clone().with_le(le))?,
                None => response,
            }
        };
        let mut rounds = 0;
        while let Some(n) = response.sw.remaining() {
            rounds += 1;
            if rounds > MAX_RESPONSE_ROUNDS {
                return Err(Error::malformed("the card never finished its response"));
            }
            let more = self
                .transmit(&CommandApdu::new(0, Instruction::GetResponse as u8, 0, 0).with_le(n))?;
            response.data.extend_from_slice(&more.data);
            response.sw = more.sw;
        }
        Ok(response)
    }

    fn send_chained(&mut self, cmd: &CommandApdu) -> Result<Response> {
        let blocks: Vec<&[u8]> = cmd.data.chunks(SHORT_MAX_DATA).collect();
        let last = blocks.len() - 1;
        for block in &blocks[..last] {
            let part = CommandApdu {
                cla: cmd.cla | 0x10,
                data: block.to_vec(),
                le: None,
                ..cmd.clone()
            };
            let r = self.transmit(&part)?;
            if r.sw != StatusWord::SUCCESS {
                return Ok(r);
            }
        }
        let tail = CommandApdu {
            data: blocks[last].to_vec(),
            ..cmd.clone()
        };
        self.transmit(&tail)
    }

    /// Sends and returns the data on 9000; any other status word becomes an error.
    pub fn expect(&mut self, command: &'static str, cmd: CommandApdu) -> Result<Vec<u8>> {
        let r = self.send(cmd)?;
        if r.sw.is_success() {
            Ok(r.data)
        } else {
            Err(Error::from_status(command, r.sw))
        }
    }
}

/// A command that expects response data (Le = 256, extended when needed).
pub(crate) fn command(ins: Instruction, p1: u8, p2: u8, data: Vec<u8>) -> CommandApdu {
    CommandApdu::new(0, ins as u8, p1, p2)
        .with_data(data)
        .with_le(256)
}

/// A command that expects no response data.
pub(crate) fn command_no_data(ins: Instruction, p1: u8, p2: u8, data: Vec<u8>) -> CommandApdu {
    CommandApdu::new(0, ins as u8, p1, p2).with_data(data)
}
