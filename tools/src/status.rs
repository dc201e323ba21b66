//! `card status`: what the card says about itself, gathered through host-driver, and the
//! report a person reads. Metadata fills it in where the card answers it; what a card does
//! not tell is learnt otherwise or shown as unknown, never a failure.

use std::fmt;

use apdu_spec::piv::metadata::Origin;
use apdu_spec::piv::{Algorithm, KeyRef, Metadata, Slot, TouchPolicy};
use der::Decode;
use host_driver::escape::Escaped;
use host_driver::piv::KeyInfo;
use host_driver::{PivCard, Transport};
use x509_cert::Certificate;

/// Everything `card status` shows.
#[derive(Debug, Clone)]
pub struct Status {
    pub reader: String,
    pub serial: Option<u32>,
    pub version: Option<[u8; 3]>,
    pub yubikey: bool,
    /// The YubiKey features this card has (metadata, attestation, …), by name.
    pub extensions: Vec<&'static str>,
    /// `None` when the card does not tell.
    pub pin: Option<Retries>,
    pub puk: Option<Retries>,
    pub management_key: ManagementKeyStatus,
    pub chuid_guid: Option<[u8; 16]>,
    /// The slots holding a key or a certificate.
    pub slots: Vec<SlotStatus>,
}

/// Tries left for a PIN or PUK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retries {
    pub left: u8,
    pub total: Option<u8>,
    /// Whether it still has its factory value (metadata only).
    pub is_default: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementKeyStatus {
    pub algorithm: Algorithm,
    /// Whether the card told it (metadata, or by answering a request in it) or it is
    /// assumed.
    pub confirmed: bool,
    pub is_default: Option<bool>,
    pub touch: Option<TouchPolicy>,
}

#[derive(Debug, Clone)]
pub struct SlotStatus {
    pub slot: Slot,
    pub key: Option<KeyInfo>,
    /// The certificate's summary, or why it could not be read as a certificate.
    pub certificate: Option<Result<CertificateSummary, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
}

impl CertificateSummary {
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let cert = Certificate::from_der(der).map_err(|e| format!("not a certificate: {e}"))?;
        let tbs = cert.tbs_certificate();
        Ok(Self {
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            not_before: tbs.validity().not_before.to_string(),
            not_after: tbs.validity().not_after.to_string(),
        })
    }
}

impl Retries {
    fn from_metadata(meta: &Metadata) -> Option<Self> {
        meta.retries.map(|(total, left)| Self {
            left,
            total: Some(total),
            is_default: meta.is_default,
        })
    }
}

impl Status {
    /// Asks the card.
    pub fn read<T: Transport>(card: &mut PivCard<T>) -> host_driver::Result<Self> {
        let features = card.features().clone();
        let pin_metadata = card.metadata_if_answered(KeyRef::PIN)?;
        // The version says whether a YubiKey should have metadata; the answer says if it does.
        let extensions = [
            (pin_metadata.is_some(), "metadata"),
            (features.attestation(), "attestation"),
            (features.yubikey(), "key import and reset"),
            (features.move_key(), "key deletion"),
        ]
        .into_iter()
        .filter_map(|(has, name)| has.then_some(name))
        .collect();
        let pin = match pin_metadata.as_ref().and_then(Retries::from_metadata) {
            Some(pin) => Some(pin),
            None => card.pin_tries_left()?.map(|left| Retries {
                left,
                total: None,
                is_default: None,
            }),
        };
        let puk = card
            .metadata_if_answered(KeyRef::PUK)?
            .as_ref()
            .and_then(Retries::from_metadata);
        let management_metadata = card.metadata_if_answered(KeyRef::MANAGEMENT)?;
        let management_algorithm = card.management_algorithm()?;
        let management_key = ManagementKeyStatus {
            algorithm: management_algorithm.algorithm,
            confirmed: management_algorithm.confirmed,
            is_default: management_metadata.as_ref().and_then(|m| m.is_default),
            touch: management_metadata
                .as_ref()
                .and_then(Metadata::touch_policy),
        };
        let chuid_guid = card.chuid()?.and_then(|c| c.guid);
        let mut slots = Vec::new();
        for slot in Slot::all() {
            let der = card.read_certificate(slot)?;
            let key = card.key_info_with_certificate(slot, der.as_deref())?;
            let certificate = der.map(|der| CertificateSummary::from_der(&der));
            if key.is_some() || certificate.is_some() {
                slots.push(SlotStatus {
                    slot,
                    key,
                    certificate,
                });
            }
        }
        Ok(Self {
            reader: card.reader(),
            serial: features.serial,
            version: features.version,
            yubikey: features.yubikey(),
            extensions,
            pin,
            puk,
            management_key,
            chuid_guid,
            slots,
        })
    }
}

/// A label column wide enough for the longest label.
const WIDTH: usize = 16;

fn line(f: &mut fmt::Formatter<'_>, label: &str, value: impl fmt::Display) -> fmt::Result {
    writeln!(f, "{:<WIDTH$}{value}", format!("{label}:"))
}

fn retries_text(r: &Option<Retries>, change_with: &str) -> String {
    let Some(r) = r else {
        return "unknown (the card does not tell)".into();
    };
    let mut text = match (r.left, r.total) {
        (0, _) => "blocked".to_string(),
        (left, Some(total)) => format!("{left} of {total} tries left"),
        (left, None) => format!("{left} tries left"),
    };
    if r.is_default == Some(true) {
        text.push_str(&format!(
            ", factory default (change it with `smime-card card {change_with}`)"
        ));
    }
    text
}

/// A GUID as 8-4-4-4-12 hex digits.
pub fn guid_text(g: &[u8; 16]) -> String {
    let h = hex::encode(g);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn version_text(v: &[u8; 3]) -> String {
    format!("{}.{}.{}", v[0], v[1], v[2])
}

fn origin_text(o: Origin) -> &'static str {
    match o {
        Origin::Generated => "generated on the card",
        Origin::Imported => "imported",
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        line(f, "Reader", &self.reader)?;
        line(
            f,
            "Serial",
            self.serial
                .map_or("unknown (the card does not tell)".into(), |s| s.to_string()),
        )?;
        line(
            f,
            "Version",
            self.version
                .as_ref()
                .map_or("unknown (the card does not tell)".into(), version_text),
        )?;
        line(
            f,
            "YubiKey ext.",
            if self.yubikey {
                format!("yes ({})", self.extensions.join(", "))
            } else {
                "no (a plain PIV card)".into()
            },
        )?;
        line(f, "PIN", retries_text(&self.pin, "change-pin"))?;
        line(f, "PUK", retries_text(&self.puk, "change-puk"))?;
        let m = &self.management_key;
        let mut mgmt = m.algorithm.to_string();
        if !m.confirmed {
            mgmt.push_str(" (assumed: the card does not tell)");
        }
        match m.is_default {
            Some(true) => {
                mgmt.push_str(", factory default (change it with `smime-card card set-mgmt-key`)")
            }
            Some(false) => mgmt.push_str(", not the factory default"),
            None => {}
        }
        if let Some(touch) = m.touch {
            mgmt.push_str(&format!(", touch {}", touch.name()));
        }
        line(f, "Management key", mgmt)?;
        line(
            f,
            "CHUID GUID",
            self.chuid_guid.as_ref().map_or("none".into(), guid_text),
        )?;
        if self.slots.is_empty() {
            return line(f, "Slots", "all empty");
        }
        for s in &self.slots {
            writeln!(f)?;
            writeln!(f, "Slot {}:", s.slot.name())?;
            match &s.key {
                Some(key) => {
                    let mut text = key.algorithm.map_or(
                        "unknown (the card does not tell, and no certificate names it)".into(),
                        |a| a.to_string(),
                    );
                    if let Some(origin) = key.origin {
                        text.push_str(&format!(", {}", origin_text(origin)));
                    }
                    line(f, "  Key", text)?;
                    if let Some(p) = key.pin_policy {
                        line(f, "  PIN policy", p.name())?;
                    }
                    if let Some(t) = key.touch_policy {
                        line(f, "  Touch policy", t.name())?;
                    }
                }
                None => line(f, "  Key", "none")?,
            }
            match &s.certificate {
                None => line(f, "  Certificate", "none")?,
                Some(Err(why)) => line(f, "  Certificate", why)?,
                Some(Ok(c)) => {
                    line(f, "  Subject", Escaped(&c.subject))?;
                    line(f, "  Issuer", Escaped(&c.issuer))?;
                    line(f, "  Valid", format!("{} to {}", c.not_before, c.not_after))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> Status {
        Status {
            reader: "card-sim card.json".into(),
            serial: Some(12345678),
            version: Some([5, 7, 1]),
            yubikey: true,
            extensions: vec!["metadata"],
            pin: Some(Retries {
                left: 2,
                total: Some(3),
                is_default: Some(false),
            }),
            puk: Some(Retries {
                left: 0,
                total: Some(3),
                is_default: Some(true),
            }),
            management_key: ManagementKeyStatus {
                algorithm: Algorithm::Aes192,
                confirmed: true,
                is_default: Some(true),
                touch: Some(TouchPolicy::Never),
            },
            chuid_guid: Some([0xAB; 16]),
            slots: vec![SlotStatus {
                slot: Slot::Signature,
                key: None,
                certificate: Some(Err("not a certificate: bad".into())),
            }],
        }
    }

    #[test]
    fn report_reads_as_sentences() {
        let text = status().to_string();
        for expected in [
            "Reader:         card-sim card.json\n",
            "Serial:         12345678\n",
            "Version:        5.7.1\n",
            "YubiKey ext.:   yes (metadata)\n",
            "PIN:            2 of 3 tries left\n",
            "PUK:            blocked, factory default",
            "Management key: AES-192, factory default (change it with `smime-card card set-mgmt-key`), touch never\n",
            "CHUID GUID:     abababab-abab-abab-abab-abababababab\n",
            "Slot 9c (Digital Signature):\n  Key:          none\n  Certificate:  not a certificate: bad\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn unknown_values_say_so() {
        let mut s = status();
        s.serial = None;
        s.pin = None;
        s.slots.clear();
        s.management_key.confirmed = false;
        s.management_key.is_default = None;
        let text = s.to_string();
        assert!(
            text.contains("Serial:         unknown (the card does not tell)\n"),
            "{text}"
        );
        assert!(text.contains("PIN:            unknown"), "{text}");
        assert!(
            text.contains("AES-192 (assumed: the card does not tell)"),
            "{text}"
        );
        assert!(text.contains("Slots:          all empty\n"), "{text}");
    }
}
