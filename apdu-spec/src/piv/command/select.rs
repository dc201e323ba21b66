//! SELECT (A4) of an application by its identifier.

use super::apdu;
use crate::apdu::SHORT_MAX_LE;
use crate::piv::Instruction;
use crate::piv::aid::{self, PIV_AID};
use crate::{CommandApdu, StatusWord};

/// P1 04: select by DF name, i.e. by application identifier.
const BY_NAME: u8 = 0x04;
/// P2 00: answer with the application's template; 0C: answer with nothing.
const RETURN_TEMPLATE: u8 = 0x00;
const RETURN_NOTHING: u8 = 0x0C;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    /// The application identifier, or a prefix of it.
    pub aid: Vec<u8>,
    /// Whether the card answers with the application property template.
    pub return_template: bool,
}

impl Select {
    /// The PIV application by its full AID, answered with its template.
    pub fn piv() -> Self {
        Self {
            aid: PIV_AID.to_vec(),
            return_template: true,
        }
    }

    /// Whether the AID names the PIV application.
    pub fn selects_piv(&self) -> bool {
        aid::selects_piv(&self.aid)
    }

    pub fn to_apdu(&self) -> CommandApdu {
        let p2 = if self.return_template {
            RETURN_TEMPLATE
        } else {
            RETURN_NOTHING
        };
        let select = apdu(Instruction::Select, BY_NAME, p2).with_data(self.aid.clone());
        if self.return_template {
            select.with_le(SHORT_MAX_LE)
        } else {
            select
        }
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        let return_template = match (apdu.p1, apdu.p2) {
            (BY_NAME, RETURN_TEMPLATE) => true,
            (BY_NAME, RETURN_NOTHING) => false,
            _ => return Err(StatusWord::INCORRECT_P1P2),
        };
        Ok(Self {
            aid: apdu.data.to_vec(),
            return_template,
        })
    }
}
