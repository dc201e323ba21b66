//! A CA kept in a directory: `ca.key`, its key (PKCS#8 PEM, readable by its owner only),
//! and `ca.pem`, its certificate. A CA whose key is on a card keeps only `ca.pem` here.
//!
//! Files are written whole (a temporary file renamed into place) and never over an
//! existing CA: a CA's key, once lost, cannot be made again.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use apdu_spec::piv::Algorithm;
use x509_cert::name::Name;

use super::{CaError, CaSigner, CertificateAuthority, SoftwareKey};

pub const KEY_FILE: &str = "ca.key";
pub const CERTIFICATE_FILE: &str = "ca.pem";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaError + '_ {
    move |source| CaError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl CertificateAuthority<SoftwareKey> {
    /// A new CA in `dir` (made if missing, 0700): a fresh `algorithm` key and a root
    /// certificate for it under `name`, valid for `days`.
    pub fn init(dir: &Path, algorithm: Algorithm, name: &Name, days: u32) -> Result<Self, CaError> {
        for file in [KEY_FILE, CERTIFICATE_FILE] {
            refuse_existing(&dir.join(file))?;
        }
        let ca = Self::self_signed(SoftwareKey::generate(algorithm)?, name, days)?;
        make_dir(dir)?;
        let key = ca.signer().to_pkcs8_pem()?;
        write_new(&dir.join(KEY_FILE), key.as_bytes(), 0o600)?;
        ca.save_certificate(dir)?;
        Ok(ca)
    }

    /// The CA in `dir`, as `init` left it.
    pub fn open(dir: &Path) -> Result<Self, CaError> {
        let path = dir.join(KEY_FILE);
        let pem = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(io(&path))?);
        Self::open_with(dir, SoftwareKey::from_pkcs8_pem(&pem)?)
    }
}

impl<S: CaSigner> CertificateAuthority<S> {
    /// The CA whose certificate is in `dir` and whose key `signer` holds (a card's, say).
    pub fn open_with(dir: &Path, signer: S) -> Result<Self, CaError> {
        let path = dir.join(CERTIFICATE_FILE);
        let pem = std::fs::read(&path).map_err(io(&path))?;
        let der = crate::pem::decode("CERTIFICATE", &pem)
            .map_err(|e| CaError::malformed(&path.display().to_string(), e))?;
        Self::new(&der, signer)
    }

    /// Writes the CA certificate to `dir/ca.pem` (the directory made if missing), which
    /// must not exist yet; returns its path.
    pub fn save_certificate(&self, dir: &Path) -> Result<PathBuf, CaError> {
        make_dir(dir)?;
        let path = dir.join(CERTIFICATE_FILE);
        let pem = crate::pem::encode("CERTIFICATE", &self.certificate_der()?);
        write_new(&path, pem.as_bytes(), 0o644)?;
        Ok(path)
    }
}

/// The CA's directory, made for its owner alone when it is new.
fn make_dir(dir: &Path) -> Result<(), CaError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))
}

fn refuse_existing(path: &Path) -> Result<(), CaError> {
    match path.try_exists().map_err(io(path))? {
        true => Err(CaError::Exists(path.to_path_buf())),
        false => Ok(()),
    }
}

/// Writes `bytes` to the new file `path` with `mode` (less the umask), whole or not at all.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CaError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(io(dir))?;
    temp.write_all(bytes).map_err(io(path))?;
    temp.as_file().sync_all().map_err(io(path))?;
    temp.persist_noclobber(path)
        .map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => CaError::Exists(path.to_path_buf()),
            _ => io(path)(e.error),
        })?;
    Ok(())
}
