//! Private-key operations: signatures (RSA PKCS#1 v1.5 and PSS with the padding built on
//! the host, ECDSA, Ed25519), RSA decryption with constant-time unpadding, and ECDH.

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{AuthKey, GeneralAuthenticate, Verify};
use apdu_spec::piv::reference_data::Credential;
use apdu_spec::piv::templates::DynamicAuth;
use apdu_spec::piv::{Algorithm, PinPolicy, Slot, TouchPolicy};
use zeroize::Zeroizing;

use super::{PivCard, Secret};
use crate::error::{Error, Result};
use crate::hash::{HashAlg, digest};
use crate::public_key::PublicKey;
use crate::rsa_padding;
use crate::signing::SignatureScheme;
use crate::transport::Transport;

/// RSA decryption paddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaDecryption {
    Pkcs1v15,
    /// OAEP with this hash for the label and MGF1 (OpenSSL's default is SHA-1 for both).
    Oaep {
        hash: HashAlg,
        mgf_hash: HashAlg,
    },
}

impl<T: Transport> PivCard<T> {
    /// The raw private-key operation: GENERAL AUTHENTICATE with `81 <input>`, optionally
    /// preceded by VERIFY in the same transaction (keys whose PIN policy is "always").
    pub fn private_operation(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
        input: &[u8],
        pin: Option<&Secret>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let request = DynamicAuth {
            response: Some(vec![]),
            challenge: Some(input.to_vec()),
            ..Default::default()
        };
        self.general_authenticate(slot, algorithm, request, pin)
    }

    fn general_authenticate(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
        request: DynamicAuth,
        pin: Option<&Secret>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let operation = GeneralAuthenticate::new(algorithm, AuthKey::Slot(slot), request);
        let verify = pin.map(|p| Verify::Pin(p.padded()));
        if verify.is_some() {
            // Before sending: a VERIFY that succeeds before the operation fails still logs in.
            self.logged_in();
        }
        let data = self.run(|x| {
            if let Some(verify) = &verify {
                let r = x.send(verify.clone())?;
                if !r.sw.is_success() {
                    return Err(super::pin::wrong(r.sw, Credential::Pin, "VERIFY"));
                }
            }
            let r = x.send(operation.clone())?;
            match r.sw {
                StatusWord::SUCCESS => Ok(Zeroizing::new(r.data)),
                StatusWord::REFERENCE_DATA_NOT_FOUND => {
                    Err(Error::NotFound(format!("a key in slot {slot}")))
                }
                // Refused just after accepting the PIN: the PIN did not hold it back.
                StatusWord::SECURITY_STATUS_NOT_SATISFIED if x.pin_verified => {
                    Err(Error::NoTouch {
                        slot,
                        certain: false,
                    })
                }
                sw => Err(Error::from_status("GENERAL AUTHENTICATE", sw)),
            }
        });
        let data = match data {
            Err(e @ (Error::SecurityStatusNotSatisfied | Error::NoTouch { .. })) => {
                return Err(self.refusal(slot, e));
            }
            data => data?,
        };
        if verify.is_some() {
            self.login_restored();
        }
        let response = DynamicAuth::parse(&data)
            .ok()
            .and_then(|d| d.response)
            .ok_or_else(|| Error::malformed("no response in 7C"))?;
        Ok(Zeroizing::new(response))
    }

    /// Why the card refused an operation on the key in `slot` with 6982 (`refused`): for want
    /// of a touch where the key's metadata says it needs one, and the PIN was verified in the
    /// operation or is not needed. Metadata is asked only now, so operations that succeed
    /// cost nothing more.
    fn refusal(&mut self, slot: Slot, refused: Error) -> Error {
        let pin_verified_now = matches!(refused, Error::NoTouch { .. });
        // A card that cannot say leaves the refusal as the operation found it.
        let Ok(Some(meta)) = self.metadata_if_answered(slot.key_ref()) else {
            return refused;
        };
        match meta.touch_policy() {
            Some(TouchPolicy::Always | TouchPolicy::Cached) => Error::NoTouch {
                slot,
                certain: pin_verified_now || meta.pin_policy() == Some(PinPolicy::Never),
            },
            Some(_) => Error::SecurityStatusNotSatisfied,
            None => refused,
        }
    }

    /// Signs a digest computed by the caller (not for Ed25519, which signs messages).
    /// RSA signatures are exactly the modulus length; ECDSA signatures are DER.
    pub fn sign_digest(
        &mut self,
        slot: Slot,
        key: &PublicKey,
        scheme: SignatureScheme,
        digest: &[u8],
        pin: Option<&Secret>,
    ) -> Result<Vec<u8>> {
        let input = match (scheme, key) {
            (SignatureScheme::RsaPkcs1v15(h), PublicKey::Rsa(_)) => {
                rsa_padding::pkcs1v15_sign_block(h, digest, key.rsa_modulus_len().unwrap_or(0))?
            }
            (SignatureScheme::RsaPss(h), PublicKey::Rsa(k)) => {
                use rsa::traits::PublicKeyParts;
                rsa_padding::pss_sign_block(
                    h,
                    digest,
                    k.n().bit_width_vartime() as usize,
                    h.output_len(),
                )?
            }
            (SignatureScheme::Ecdsa(_), PublicKey::P256(_) | PublicKey::P384(_)) => digest.to_vec(),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "a {} key cannot sign with {scheme:?}",
                    key.algorithm()
                )));
            }
        };
        Ok(self
            .private_operation(slot, key.algorithm(), &input, pin)?
            .to_vec())
    }

    /// Signs a message: hashed on the host, or whole for Ed25519.
    pub fn sign_message(
        &mut self,
        slot: Slot,
        key: &PublicKey,
        scheme: SignatureScheme,
        message: &[u8],
        pin: Option<&Secret>,
    ) -> Result<Vec<u8>> {
        match (scheme, key) {
            (SignatureScheme::Ed25519, PublicKey::Ed25519(_)) => Ok(self
                .private_operation(slot, Algorithm::Ed25519, message, pin)?
                .to_vec()),
            (SignatureScheme::Ed25519, _) => Err(Error::InvalidArgument(
                "Ed25519 needs an Ed25519 key".into(),
            )),
            (scheme, _) => {
                let hash = scheme
                    .hash()
                    .ok_or_else(|| Error::InvalidArgument("scheme without a hash".into()))?;
                self.sign_digest(slot, key, scheme, &digest(hash, message), pin)
            }
        }
    }

    /// RSA decryption: the card's raw result is unpadded here, in constant time.
    pub fn decrypt_rsa(
        &mut self,
        slot: Slot,
        key: &PublicKey,
        padding: RsaDecryption,
        ciphertext: &[u8],
        pin: Option<&Secret>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let k = key
            .rsa_modulus_len()
            .ok_or_else(|| Error::InvalidArgument("RSA decryption needs an RSA key".into()))?;
        if ciphertext.len() != k {
            return Err(Error::InvalidArgument(format!(
                "the ciphertext has {} bytes; this key's are {k}",
                ciphertext.len()
            )));
        }
        let block = self.private_operation(slot, key.algorithm(), ciphertext, pin)?;
        Ok(match padding {
            RsaDecryption::Pkcs1v15 => rsa_padding::pkcs1v15_decrypt_unpad(&block, k)?,
            RsaDecryption::Oaep { hash, mgf_hash } => {
                rsa_padding::oaep_decrypt_unpad(hash, mgf_hash, &[], &block, k)?
            }
        })
    }

    /// ECDH (P-256, P-384: the peer's uncompressed point) or X25519 (32 bytes); returns the
    /// shared secret.
    pub fn key_agreement(
        &mut self,
        slot: Slot,
        key: &PublicKey,
        peer: &[u8],
        pin: Option<&Secret>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if !matches!(
            key,
            PublicKey::P256(_) | PublicKey::P384(_) | PublicKey::X25519(_)
        ) {
            return Err(Error::InvalidArgument(format!(
                "{} keys do not agree keys",
                key.algorithm()
            )));
        }
        let request = DynamicAuth {
            response: Some(vec![]),
            exponentiation: Some(peer.to_vec()),
            ..Default::default()
        };
        self.general_authenticate(slot, key.algorithm(), request, pin)
    }
}
