//! A human summary of a card: what `card-sim show` prints. Never a secret.

use std::fmt::Write;

use apdu_spec::piv::Slot;
use apdu_spec::piv::metadata::Origin;
use apdu_spec::piv::object::CertificateObject;
use apdu_spec::tlv::Tlv;
use der::Decode;

use crate::objects::TOTAL_CAPACITY;
use crate::pin::Pin;
use crate::state::{CardState, MetadataSupport};

fn tries(pin: &Pin) -> String {
    let default = if pin.is_default() {
        ", default value"
    } else {
        ""
    };
    let blocked = if pin.is_blocked() { " BLOCKED" } else { "" };
    format!(
        "{} of {} tries left{default}{blocked}",
        pin.tries_left, pin.max_tries
    )
}

/// The subject of the certificate stored for `slot`, if any.
fn certificate_subject(state: &CardState, slot: Slot) -> Option<String> {
    let object = state.objects.get(slot.certificate_object())?;
    let cert = CertificateObject::parse(Tlv::parse_exact(object).ok()?.value).ok()?;
    if cert.compressed {
        return Some("(gzip-compressed certificate)".into());
    }
    match x509_cert::Certificate::from_der(&cert.certificate) {
        Ok(c) => Some(c.tbs_certificate().subject().to_string()),
        Err(_) => Some("(unparsable certificate)".into()),
    }
}

pub fn summary(state: &CardState) -> String {
    let mut out = String::new();
    let [a, b, c] = state.firmware;
    let extensions = match (state.yubikey_extensions, state.metadata) {
        (false, _) => "off (plain PIV card)",
        (true, MetadataSupport::Full) => "on",
        (true, MetadataSupport::Absent) => "on, but no GET METADATA",
        (true, MetadataSupport::Partial) => {
            "on, GET METADATA without algorithm, policy, public key"
        }
    };
    let mk = &state.management_key;
    let _ = writeln!(
        out,
        "Profile:          {} ({})",
        state.profile,
        state.profile.description()
    );
    let _ = writeln!(out, "Serial:           {}", state.serial);
    if state.profile.firmware().is_some() {
        let _ = writeln!(
            out,
            "Version:          {a}.{b}.{c} (YubiKey extensions {extensions})"
        );
    } else {
        let _ = writeln!(out, "Version:          none (plain PIV card)");
    }
    let _ = writeln!(out, "PIN:              {}", tries(&state.pin));
    let _ = writeln!(out, "PUK:              {}", tries(&state.puk));
    let _ = writeln!(
        out,
        "Management key:   {}{}{}",
        mk.algorithm(),
        if mk.is_default() {
            ", default value"
        } else {
            ""
        },
        if mk.touch_required {
            ", touch required"
        } else {
            ""
        }
    );
    let objects = state.objects.iter().count();
    let _ = writeln!(
        out,
        "Data objects:     {objects}, {} of {TOTAL_CAPACITY} bytes used",
        state.objects.used()
    );
    let _ = writeln!(out, "Slots:");
    let mut any = false;
    for slot in Slot::all() {
        let key = state.keys.get(&slot);
        let subject = certificate_subject(state, slot);
        if key.is_none() && subject.is_none() {
            continue;
        }
        any = true;
        let _ = write!(out, "  {:<34}", slot.name());
        match key {
            Some(k) => {
                let origin = match k.origin {
                    Origin::Generated => "generated",
                    Origin::Imported => "imported",
                };
                let _ = write!(
                    out,
                    " {}, {origin}, PIN {}, touch {}",
                    k.key.algorithm(),
                    k.effective_pin_policy(slot).name(),
                    k.effective_touch_policy().name()
                );
            }
            None => {
                let _ = write!(out, " no key");
            }
        }
        if let Some(subject) = subject {
            let _ = write!(out, "; certificate {subject}");
        }
        out.push('\n');
    }
    if !any {
        let _ = writeln!(out, "  (none)");
    }
    let _ = writeln!(
        out,
        "Touch:            keys with a touch policy wait for one while served; \
         `card-sim touch --state FILE` touches, `serve --auto-touch` touches by itself"
    );
    out
}
