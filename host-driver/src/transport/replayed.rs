//! A recorded session served in this process ([`card_sim::replay::Replay`]): the PIV
//! client's tests run against what a real card once answered, no pcscd needed.

use card_sim::replay::Replay;
use card_sim::vpcd::VirtualCard;

use super::{Link, Transport, TransportError};
use crate::error::Error;

pub struct Replayed {
    replay: Replay,
    name: String,
}

impl Replayed {
    pub fn new(replay: Replay, name: impl Into<String>) -> Self {
        Self {
            replay,
            name: name.into(),
        }
    }

    /// How the replay went so far ([`Replay::finish`] says whether it is complete).
    pub fn replay(&self) -> &Replay {
        &self.replay
    }
}

impl Link for Replay {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(VirtualCard::transmit(self, apdu))
    }
}

impl Transport for Replayed {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn atr(&self) -> Vec<u8> {
        self.replay.atr()
    }

    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Link) -> Result<(), Error>,
    ) -> Result<(), Error> {
        work(&mut self.replay)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.replay.reset();
        Ok(())
    }

    /// Nothing outlives the replay to reset.
    fn reset_when_closed(&mut self, _reset: bool) {}
}
