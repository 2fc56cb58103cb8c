//! Reading the derived records (licenses, links, tallies, shipments, keys,
//! alerts) and the evidence kept beside the logs, outside any transaction.

use crate::codec::decode_signed;
use crate::codec::{decode, decode_evidence};
use crate::engine::Op;
use crate::error::Result;
use crate::error::StoreError;
use crate::keys;
use crate::keys::KeyReader;
use crate::state::{Alert, Evidence, LicenseState, RotatedKey, SerialUse, ShipmentRow, TallyRow};
use crate::store::Store;
use crate::view::EngineView;
use tally_model::{AuthorityId, Direction, DocumentRef, SignedEntry, on_route};

impl Store {
    fn scan_json<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<T>> {
        self.engine()
            .scan(prefix, &keys::prefix_end(prefix), limit)?
            .into_iter()
            .map(|(k, v)| decode(&k, &v))
            .collect()
    }

    /// A license, import certificate or transit authorization as it stands;
    /// `None` also when it is sealed and no longer opens here (see
    /// [`Store::license_checked`]), so joins across documents go on.
    pub fn license(&self, authority: &AuthorityId, number: &str) -> Result<Option<LicenseState>> {
        crate::license::readable(self.license_checked(authority, number))
    }

    /// [`Store::license`], but a sealed document that no longer opens here
    /// is [`StoreError::Unreadable`] with the reason: what a license page
    /// and a border check say about the license asked for.
    pub fn license_checked(
        &self,
        authority: &AuthorityId,
        number: &str,
    ) -> Result<Option<LicenseState>> {
        self.license_at(&keys::license(authority.as_str(), number))
    }

    fn license_at(&self, key: &[u8]) -> Result<Option<LicenseState>> {
        let view = EngineView(self.engine(), self.reader());
        self.engine()
            .get(key)?
            .map(|v| crate::license::load_license(&view, key, &v))
            .transpose()
    }

    /// Up to `limit` of `authority`'s documents, by number.
    pub fn licenses_of(&self, authority: &AuthorityId, limit: usize) -> Result<Vec<LicenseState>> {
        self.licenses_after(authority, None, limit)
    }

    /// Up to `limit` licenses of `authority` numbered after `after` (from
    /// the first without it), by number: an export's pages. Licenses held
    /// but unreadable here are left out.
    pub fn licenses_after(
        &self,
        authority: &AuthorityId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LicenseState>> {
        let prefix = keys::license_prefix(authority.as_str());
        let start = match after {
            Some(number) => {
                let mut k = keys::license(authority.as_str(), number);
                k.push(0);
                k
            }
            None => prefix.clone(),
        };
        let view = EngineView(self.engine(), self.reader());
        self.engine()
            .scan(&start, &keys::prefix_end(&prefix), limit)?
            .into_iter()
            .filter_map(|(k, v)| {
                crate::license::readable(crate::license::load_license(&view, &k, &v).map(Some))
                    .transpose()
            })
            .collect()
    }

    /// Up to `limit` recorded crossings (every license's) after the one at
    /// key `after` (from the first without it), in key order, each with its
    /// key: an export's pages.
    pub fn shipments_after(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, ShipmentRow)>> {
        let prefix = [keys::SHIPMENT];
        let start = match after {
            Some(k) => {
                let mut k = k.to_vec();
                k.push(0);
                k
            }
            None => prefix.to_vec(),
        };
        self.engine()
            .scan(&start, &keys::prefix_end(&prefix), limit)?
            .into_iter()
            .map(|(k, v)| {
                let row = decode(&k, &v)?;
                Ok((k, row))
            })
            .collect()
    }

    /// The transit authorizations that cover `export`, whichever State gave them.
    pub fn transits_for(&self, export: &DocumentRef) -> Result<Vec<LicenseState>> {
        let prefix = keys::transit_prefix(export);
        let links = self
            .engine()
            .scan(&prefix, &keys::prefix_end(&prefix), usize::MAX)?;
        let mut out = Vec::with_capacity(links.len());
        for (k, _) in links {
            let mut r = KeyReader::new(&k);
            // Past the export license's authority and number, to the transit's.
            let _ = (r.str(), r.str());
            let (authority, number) = r
                .str()
                .zip(r.str())
                .ok_or_else(|| StoreError::corrupt(&k, "transit link key"))?;
            if let Some(state) = self.license_at(&keys::license(&authority, &number))? {
                out.push(state);
            }
        }
        Ok(out)
    }

    /// The delivery verifications about `export`, whoever issued them.
    pub fn deliveries_for(&self, export: &DocumentRef) -> Result<Vec<LicenseState>> {
        let prefix = keys::delivery_prefix(export);
        let mut out = Vec::new();
        for (k, _) in self
            .engine()
            .scan(&prefix, &keys::prefix_end(&prefix), usize::MAX)?
        {
            let r = keys::linked_document(&k)
                .ok_or_else(|| StoreError::corrupt(&k, "delivery link key"))?;
            if let Some(state) = self.license_at(&keys::license(&r.authority, &r.number))? {
                out.push(state);
            }
        }
        Ok(out)
    }

    /// The export licenses that cite the import certificate `ic` (whatever
    /// their status), by reference.
    pub fn citing(&self, ic: &DocumentRef) -> Result<Vec<DocumentRef>> {
        let prefix = keys::cites_prefix(ic);
        Ok(self
            .engine()
            .scan(&prefix, &keys::prefix_end(&prefix), usize::MAX)?
            .into_iter()
            .filter_map(|(k, _)| keys::linked_document(&k))
            .collect())
    }

    /// Accepted quantities of `license` per (line, direction, country), as
    /// recorded by every country: what [`Store::tallies`] filters.
    pub fn recorded_tallies(&self, license: &DocumentRef) -> Result<Vec<TallyRow>> {
        self.scan_json(&keys::tally_prefix(license), usize::MAX)
    }

    /// The tallies that count for `license` as it stands: only rows recorded
    /// in a country its route allows for their direction.
    pub fn tallies(&self, license: &LicenseState) -> Result<Vec<TallyRow>> {
        let mut rows = self.recorded_tallies(&license.reference())?;
        rows.retain(|t| on_route(&license.document, t.direction, &t.country));
        Ok(rows)
    }

    /// The earliest crossing of `serial` (compared normalized) under
    /// `license` in `direction` recorded in `country` (the checkpoint country).
    pub fn serial_use(
        &self,
        license: &DocumentRef,
        direction: Direction,
        country: &str,
        serial: &str,
    ) -> Result<Option<SerialUse>> {
        let serial = tally_model::normalize_serial(serial);
        let key = keys::serial(license, direction, country, &serial);
        self.engine()
            .get(&key)?
            .map(|v| crate::serial_rows::decode_use(&key, &v))
            .transpose()
    }

    /// Every shipment recorded under `license`, accepted or not, oldest first.
    pub fn shipments(&self, license: &DocumentRef) -> Result<Vec<ShipmentRow>> {
        self.scan_json(&keys::shipment_prefix(license), usize::MAX)
    }

    /// Accepted shipments under `license` in `direction` that count (recorded
    /// in `country`, which its route allows): what a single-shipment license
    /// is checked against.
    pub fn accepted_shipments(
        &self,
        license: &LicenseState,
        direction: Direction,
        country: &str,
    ) -> Result<u64> {
        if !on_route(&license.document, direction, country) {
            return Ok(0);
        }
        let n = self
            .shipments(&license.reference())?
            .iter()
            .filter(|s| {
                s.verdict == tally_model::ShipmentVerdict::Accept.as_str()
                    && s.checkpoint.direction == direction
                    && s.checkpoint.country == country
            })
            .count();
        Ok(n as u64)
    }

    /// Paper keys `authority` announced in its own log, in log order.
    pub fn paper_keys(&self, authority: &AuthorityId) -> Result<Vec<crate::state::AnnouncedKey>> {
        self.scan_json(&keys::paper_prefix(authority.as_str()), usize::MAX)
    }

    /// Encryption keys `authority` announced in its own log, in log order.
    pub fn announced_keys(
        &self,
        authority: &AuthorityId,
    ) -> Result<Vec<crate::state::AnnouncedKey>> {
        self.scan_json(&keys::announced_prefix(authority.as_str()), usize::MAX)
    }

    /// The `limit` newest announcements of `authority` that count, valid at
    /// `at_ms` (any time without it), oldest first (see
    /// [`crate::Tx::issuer_announcements`]).
    pub fn issuer_announcements(
        &self,
        authority: &AuthorityId,
        at_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<crate::state::AnnouncedKey>> {
        let (start, end) = keys::announced_until(authority.as_str(), at_ms);
        let mut out = self
            .engine()
            .scan_rev(&start, &end, limit)?
            .into_iter()
            .map(|(k, v)| decode(&k, &v))
            .collect::<Result<Vec<crate::state::AnnouncedKey>>>()?;
        out.reverse();
        Ok(out)
    }

    pub fn rotated_keys(&self, authority: &AuthorityId) -> Result<Vec<RotatedKey>> {
        self.scan_json(&keys::rotated_prefix(authority.as_str()), usize::MAX)
    }

    // ---- evidence and alerts ----

    /// Keeps proof of an equivocation, durably, with its alert; storing the
    /// same proof twice changes nothing. True if no fork at that (authority,
    /// seq) was known before.
    pub fn put_evidence(&self, evidence: &Evidence) -> Result<bool> {
        self.transaction(|tx| tx.put_evidence(evidence))
    }

    /// Every equivocation proof held, by authority and seq.
    pub fn evidence(&self) -> Result<Vec<Evidence>> {
        let start = [keys::EVIDENCE];
        self.engine()
            .scan(&start, &keys::prefix_end(&start), usize::MAX)?
            .into_iter()
            .map(|(k, v)| decode_evidence(&k, &v))
            .collect()
    }

    /// Entries of this node's own authority that it did not write, kept as
    /// evidence of `log.cloned`, by seq.
    pub fn cloned(&self) -> Result<Vec<SignedEntry>> {
        let start = [keys::CLONED];
        self.engine()
            .scan(&start, &keys::prefix_end(&start), usize::MAX)?
            .into_iter()
            .map(|(k, v)| decode_signed(&k, &v))
            .collect()
    }

    /// Entries past a key compromise that the authority's genuine log
    /// replaced (kept as evidence; see `Tx::displace_compromised_tail`).
    pub fn displaced(&self) -> Result<Vec<SignedEntry>> {
        let start = [keys::DISPLACED];
        self.engine()
            .scan(&start, &keys::prefix_end(&start), usize::MAX)?
            .into_iter()
            .map(|(k, v)| decode_signed(&k, &v))
            .collect()
    }

    /// Whether the node is recovering its own log after its store was found
    /// missing at start (see `tally_node::Node::spawn`).
    pub fn recovering(&self) -> Result<bool> {
        Ok(self.engine().get(keys::RECOVERING_KEY)?.is_some())
    }

    /// Marks (durably) that the node recovers its own log, or that it is done.
    pub fn set_recovering(&self, recovering: bool) -> Result<()> {
        let _guard = self.lock();
        let op = if recovering {
            Op::Put(keys::RECOVERING_KEY.to_vec(), b"1".to_vec())
        } else {
            Op::Delete(keys::RECOVERING_KEY.to_vec())
        };
        self.engine().commit(vec![op])
    }

    /// Every alert held, in id order. Alerts are few (one per suspicious
    /// event); the API sorts, filters and pages them.
    pub fn alerts(&self) -> Result<Vec<Alert>> {
        self.scan_json(&[keys::ALERT], usize::MAX)
    }
}
