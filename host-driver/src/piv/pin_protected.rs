//! The management key stored PIN-protected, as ykman stores it: the key in the printed
//! information (5FC109, readable only after VERIFY), and the admin data (5FFF00) flagging
//! it, so any tool that knows the convention finds the key with the PIN alone.

use apdu_spec::piv::ObjectId;
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::pin_protected::{AdminData, StoredManagementKey};

use super::{PivCard, Secret};
use crate::error::{Error, Result};
use crate::transport::Transport;

impl<T: Transport> PivCard<T> {
    /// The admin data, or `None` when the card has none.
    pub fn admin_data(&mut self) -> Result<Option<AdminData>> {
        self.read_object(ObjectId::YUBICO_ADMIN_DATA)?
            .map(|content| AdminData::parse(&content).map_err(Error::malformed))
            .transpose()
    }

    /// Verifies `pin` and reads the management key stored under it, in the algorithm of
    /// the card's key; `None` when none is stored (whatever the admin data says).
    pub fn pin_protected_management_key(&mut self, pin: &Secret) -> Result<Option<ManagementKey>> {
        let algorithm = self.management_algorithm()?.algorithm;
        self.verify_pin(pin)?;
        let Some(content) = self.read_object(ObjectId::PRINTED_INFORMATION)? else {
            return Ok(None);
        };
        // Printed information in SP 800-73's own layout (01 name, 02 ..., FE) holds no key:
        // only ykman's `88 { 89 key }` does.
        let content = zeroize::Zeroizing::new(content);
        let Ok(Some(stored)) = StoredManagementKey::parse(&content) else {
            return Ok(None);
        };
        ManagementKey::new(algorithm, &stored.0)
            .map(Some)
            .ok_or_else(|| {
                Error::malformed(format!(
                    "the stored management key has {} bytes, not a {algorithm} key",
                    stored.0.len()
                ))
            })
    }

    /// Sets `key` as the management key and stores it PIN-protected (needs the current
    /// management key). The key is stored before it is set, and flagged after: an
    /// interruption leaves either the old key in force, or the new one stored.
    pub fn set_pin_protected_management_key(&mut self, key: &ManagementKey) -> Result<()> {
        // Read before anything is written: malformed admin data then stops us with the old
        // key still in force, rather than with a new key that is never flagged.
        let admin = AdminData {
            management_key_stored: true,
            // The PIN-derived scheme's salt no longer describes the key, as ykman drops it.
            salt: None,
            ..self.admin_data()?.unwrap_or_default()
        };
        let stored = StoredManagementKey(zeroize::Zeroizing::new(key.key_bytes().to_vec()));
        self.write_object(ObjectId::PRINTED_INFORMATION, &stored.encode())?;
        self.set_management_key(key, false)?;
        self.write_object(ObjectId::YUBICO_ADMIN_DATA, &admin.encode())
    }
}
