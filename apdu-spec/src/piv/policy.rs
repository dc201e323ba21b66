//! PIN and touch policies (YubiKey; tags AA and AB of the AC template, metadata tag 02).

/// When a key needs the PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PinPolicy {
    /// The slot's default.
    Default = 0x00,
    Never = 0x01,
    /// Once per session (until reset or logout).
    Once = 0x02,
    /// Before every private-key operation.
    Always = 0x03,
    /// Bio keys only.
    MatchOnce = 0x04,
    MatchAlways = 0x05,
}

/// When a key needs a touch of the button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TouchPolicy {
    Default = 0x00,
    Never = 0x01,
    Always = 0x02,
    /// Touch is cached for 15 seconds.
    Cached = 0x03,
}

impl PinPolicy {
    pub fn from_byte(b: u8) -> Option<Self> {
        [
            Self::Default,
            Self::Never,
            Self::Once,
            Self::Always,
            Self::MatchOnce,
            Self::MatchAlways,
        ]
        .into_iter()
        .find(|p| *p as u8 == b)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Never => "never",
            Self::Once => "once",
            Self::Always => "always",
            Self::MatchOnce => "match-once",
            Self::MatchAlways => "match-always",
        }
    }
}

impl TouchPolicy {
    pub fn from_byte(b: u8) -> Option<Self> {
        [Self::Default, Self::Never, Self::Always, Self::Cached]
            .into_iter()
            .find(|p| *p as u8 == b)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Never => "never",
            Self::Always => "always",
            Self::Cached => "cached",
        }
    }
}

impl std::str::FromStr for PinPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [
            Self::Default,
            Self::Never,
            Self::Once,
            Self::Always,
            Self::MatchOnce,
            Self::MatchAlways,
        ]
        .into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| format!("unknown PIN policy '{s}' (default, never, once, always)"))
    }
}

impl std::str::FromStr for TouchPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [Self::Default, Self::Never, Self::Always, Self::Cached]
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown touch policy '{s}' (default, never, always, cached)"))
    }
}
