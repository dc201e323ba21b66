//! Response APDUs: a data field followed by the status word.

use crate::status::StatusWord;

/// A response APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: StatusWord,
}

impl Response {
    pub fn new(data: Vec<u8>, sw: StatusWord) -> Self {
        Self { data, sw }
    }

    /// 9000 with data.
    pub fn ok(data: Vec<u8>) -> Self {
        Self::new(data, StatusWord::SUCCESS)
    }

    /// 9000 without data.
    pub fn ok_empty() -> Self {
        Self::ok(Vec::new())
    }

    /// A bare status word.
    pub fn status(sw: StatusWord) -> Self {
        Self::new(Vec::new(), sw)
    }

    /// Splits the trailer off; `None` when fewer than two bytes arrived.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let (data, sw) = bytes.split_last_chunk::<2>()?;
        Some(Self::new(
            data.to_vec(),
            StatusWord::from_bytes(sw[0], sw[1]),
        ))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }

    /// The data on 9000, the status word otherwise.
    pub fn into_result(self) -> Result<Vec<u8>, StatusWord> {
        if self.sw.is_success() {
            Ok(self.data)
        } else {
            Err(self.sw)
        }
    }
}

impl From<StatusWord> for Response {
    fn from(sw: StatusWord) -> Self {
        Self::status(sw)
    }
}
