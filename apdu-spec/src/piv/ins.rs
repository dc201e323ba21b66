//! Instruction bytes: the standard PIV commands and YubiKey's private ones.

macro_rules! instructions {
    ($($(#[$doc:meta])* $name:ident = $byte:literal, $label:literal;)*) => {
        /// An instruction the PIV application knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Instruction {
            $($(#[$doc])* $name = $byte,)*
        }

        impl Instruction {
            pub const ALL: &[Instruction] = &[$(Instruction::$name,)*];

            pub fn from_byte(b: u8) -> Option<Self> {
                match b {
                    $($byte => Some(Self::$name),)*
                    _ => None,
                }
            }

            /// The command's name, as logs print it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$name => $label,)*
                }
            }
        }
    };
}

instructions! {
    Select = 0xA4, "SELECT";
    GetData = 0xCB, "GET DATA";
    PutData = 0xDB, "PUT DATA";
    Verify = 0x20, "VERIFY";
    ChangeReferenceData = 0x24, "CHANGE REFERENCE DATA";
    ResetRetryCounter = 0x2C, "RESET RETRY COUNTER";
    GeneralAuthenticate = 0x87, "GENERAL AUTHENTICATE";
    GenerateAsymmetricKeyPair = 0x47, "GENERATE ASYMMETRIC KEY PAIR";
    GetResponse = 0xC0, "GET RESPONSE";
    /// YubiKey: firmware version, 3 bytes.
    GetVersion = 0xFD, "GET VERSION";
    /// YubiKey: serial number, 4 bytes big-endian.
    GetSerial = 0xF8, "GET SERIAL";
    /// YubiKey: metadata of a PIN, PUK, management key or key slot.
    GetMetadata = 0xF7, "GET METADATA";
    /// YubiKey: attestation certificate of a generated key.
    Attest = 0xF9, "ATTEST";
    /// YubiKey: import a private key.
    ImportKey = 0xFE, "IMPORT KEY";
    /// YubiKey: set the management key.
    SetManagementKey = 0xFF, "SET MANAGEMENT KEY";
    /// YubiKey: reset the application (PIN and PUK must be blocked).
    Reset = 0xFB, "RESET";
    /// YubiKey: set PIN and PUK retry counts.
    SetPinRetries = 0xFA, "SET PIN RETRIES";
    /// YubiKey 5.7: move a key between slots, or delete it (P1 = FF).
    MoveKey = 0xF6, "MOVE KEY";
}

impl Instruction {
    /// Whether this is one of YubiKey's private instructions rather than SP 800-73-4's.
    pub fn is_yubikey_extension(self) -> bool {
        matches!(
            self,
            Self::GetVersion
                | Self::GetSerial
                | Self::GetMetadata
                | Self::Attest
                | Self::ImportKey
                | Self::SetManagementKey
                | Self::Reset
                | Self::SetPinRetries
                | Self::MoveKey
        )
    }
}
