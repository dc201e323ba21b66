//! The raw RSA private operation, done by AWS-LC: the one place where card-sim calls C.
//!
//! Why AWS-LC and not the `rsa` crate: on this card's sizes (1024 to 4096 bits) the `rsa`
//! crate's constant-time arithmetic takes three to four times OpenSSL's time for a private
//! operation, while AWS-LC matches OpenSSL. It is constant time (Montgomery exponentiation
//! in assembly), blinds every operation and checks the result against the public key
//! before it answers. Why `aws-lc-sys` and not OpenSSL: it builds AWS-LC from the source it
//! ships with only a C compiler (no cmake, no perl, no libssl-dev), so a machine with Rust
//! and gcc builds the demo as before. Why these few lines of FFI: `aws-lc-rs`, its safe
//! wrapper, offers padded signatures and OAEP only, not the raw operation PIV asks for.
//!
//! The `rsa` crate still generates, imports, stores and describes keys; AWS-LC is handed
//! each key once, as PKCS#1 DER, and holds it for the private operations.

use std::ptr::NonNull;

use aws_lc_sys as ffi;

use super::KeyError;

/// An RSA private key held by AWS-LC. AWS-LC wipes the key's memory when it frees it.
pub(super) struct RsaPrivate(NonNull<ffi::RSA>);

// SAFETY: AWS-LC's RSA keys may be used from several threads at once: what a private
// operation changes inside the key (its cache of Montgomery contexts and blinding values)
// is guarded by the key's own lock.
unsafe impl Send for RsaPrivate {}
unsafe impl Sync for RsaPrivate {}

impl RsaPrivate {
    /// Takes a PKCS#1 RSAPrivateKey; AWS-LC checks that its parts agree as it parses.
    pub(super) fn from_pkcs1_der(der: &[u8]) -> Option<Self> {
        // SAFETY: AWS-LC reads `der.len()` bytes at `der` and returns a key we own, or null.
        let key = unsafe { ffi::RSA_private_key_from_bytes(der.as_ptr(), der.len()) };
        let key = NonNull::new(key).map(Self);
        if key.is_none() {
            clear_errors();
        }
        key
    }

    /// `input ^ d mod n`, for an input of exactly the modulus length and less than the
    /// modulus; the answer has the modulus length too.
    pub(super) fn private(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        // SAFETY: the key is alive while `self` is.
        let size = unsafe { ffi::RSA_size(self.0.as_ptr()) } as usize;
        if input.len() != size {
            return Err(KeyError::WrongInputLength {
                got: input.len(),
                want: size,
            });
        }
        let mut output = vec![0u8; size];
        let mut written = 0;
        // SAFETY: AWS-LC writes at most `output.len()` bytes to `output`, reads
        // `input.len()` bytes from `input` and stores the length it wrote in `written`.
        let ok = unsafe {
            ffi::RSA_sign_raw(
                self.0.as_ptr(),
                &mut written,
                output.as_mut_ptr(),
                output.len(),
                input.as_ptr(),
                input.len(),
                ffi::RSA_NO_PADDING,
            )
        };
        if ok != 1 || written != size {
            // An input not less than the modulus, or a result that failed its check.
            clear_errors();
            return Err(KeyError::InvalidInput);
        }
        Ok(output)
    }
}

impl Clone for RsaPrivate {
    /// Another handle on the same key, which AWS-LC frees with the last one.
    fn clone(&self) -> Self {
        // SAFETY: the key is alive while `self` is; taking a reference keeps it so.
        unsafe { ffi::RSA_up_ref(self.0.as_ptr()) };
        Self(self.0)
    }
}

impl Drop for RsaPrivate {
    fn drop(&mut self) {
        // SAFETY: gives back the reference this handle took; the key is not used after.
        unsafe { ffi::RSA_free(self.0.as_ptr()) }
    }
}

/// AWS-LC records why a call failed in a queue per thread; our callers get a `KeyError`
/// instead, so the queue is emptied rather than left to grow.
fn clear_errors() {
    // SAFETY: touches only this thread's error queue.
    unsafe { ffi::ERR_clear_error() }
}
