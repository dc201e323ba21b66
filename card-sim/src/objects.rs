//! The data objects the card stores, with a YubiKey's size limits.

use std::collections::BTreeMap;

use apdu_spec::StatusWord;
use apdu_spec::piv::ObjectId;
use zeroize::Zeroizing;

/// The largest object a YubiKey stores, as GET DATA returns it (tag, length and content).
pub const MAX_OBJECT_SIZE: usize = 3072;
/// The storage shared by all objects.
pub const TOTAL_CAPACITY: usize = 51_200;

/// Objects by ID; each holds exactly the TLV that GET DATA returns (`53 L …`, or `7E L …`
/// for discovery). Each is wiped when dropped or replaced: printed information holds the
/// PIN-protected management key, and the state is copied on every write and kept whole
/// for a power cut.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectStore {
    objects: BTreeMap<ObjectId, Zeroizing<Vec<u8>>>,
}

impl ObjectStore {
    pub fn get(&self, id: ObjectId) -> Option<&[u8]> {
        self.objects.get(&id).map(|v| v.as_slice())
    }

    pub fn iter(&self) -> impl Iterator<Item = (ObjectId, &[u8])> {
        self.objects.iter().map(|(id, v)| (*id, v.as_slice()))
    }

    pub fn used(&self) -> usize {
        self.objects.values().map(|v| v.len()).sum()
    }

    /// Stores `tlv` under `id`, within the limits (6A84 when it does not fit).
    pub fn put(
        &mut self,
        id: ObjectId,
        tlv: impl Into<Zeroizing<Vec<u8>>>,
    ) -> Result<(), StatusWord> {
        let tlv = tlv.into();
        let replaced = self.objects.get(&id).map_or(0, |v| v.len());
        if tlv.len() > MAX_OBJECT_SIZE || self.used() - replaced + tlv.len() > TOTAL_CAPACITY {
            return Err(StatusWord::NOT_ENOUGH_MEMORY);
        }
        self.objects.insert(id, tlv);
        Ok(())
    }

    pub fn remove(&mut self, id: ObjectId) -> Option<Zeroizing<Vec<u8>>> {
        self.objects.remove(&id)
    }

    /// Keeps only the objects `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(ObjectId) -> bool) {
        self.objects.retain(|id, _| keep(*id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_enforced_and_replacing_frees_space() {
        let mut store = ObjectStore::default();
        assert_eq!(
            store.put(ObjectId::CHUID, vec![0; MAX_OBJECT_SIZE + 1]),
            Err(StatusWord::NOT_ENOUGH_MEMORY)
        );
        for n in 1..=17 {
            store
                .put(ObjectId::retired_certificate(n).unwrap(), vec![0; 3000])
                .unwrap();
        }
        assert_eq!(
            store.put(ObjectId::CHUID, vec![0; 3000]),
            Err(StatusWord::NOT_ENOUGH_MEMORY)
        );
        store
            .put(ObjectId::retired_certificate(1).unwrap(), vec![0; 3072])
            .unwrap();
        store.remove(ObjectId::retired_certificate(2).unwrap());
        store.put(ObjectId::CHUID, vec![0; 2900]).unwrap();
    }
}
