//! Public-key infrastructure that S/MIME and PIV attestation share: checking a signature
//! made with a certificate's key, and checking a certificate's path to trusted roots.
//!
//! Nothing here knows about mail or cards; what a certificate is for (signing mail,
//! attesting a key) is its caller's question.

pub mod algorithms;
pub mod path;

pub use path::{PathError, extension, public_key, subject, validate};
