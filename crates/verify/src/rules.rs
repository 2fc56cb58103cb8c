//! The shipment rules of docs/API.md as pure functions over [`Facts`].
//!
//! Each rule reads only the facts gathered from the store and the
//! declaration, so it can be tested with a table and no store at all. The
//! order of [`RULES`] is the order of the contract.

use std::collections::{BTreeMap, BTreeSet};
use tally_model::linkage::{category_name, quantities, same_party, shortfall, unit_name};
use tally_model::{
    Checkpoint, Date, Direction, License, LicenseKind, ShipmentLine, ShipmentVerdict, Shipments,
    Status, normalize_serial,
};
use tally_store::state::{LicenseState, SerialUse, TallyRow};

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub rule: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Every rule's result; `accept` exactly when all are ok.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub checks: Vec<Check>,
    /// What the officer should know and no rule refuses: a crossing no
    /// planned shipment names (`tally_model::plan::unplanned`).
    pub flags: Vec<String>,
}

impl Verdict {
    pub fn accepted(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
    /// `Accept` exactly when every check is ok.
    pub fn label(&self) -> ShipmentVerdict {
        ShipmentVerdict::from_accepted(self.accepted())
    }
    pub fn as_str(&self) -> &'static str {
        self.label().as_str()
    }
    pub fn failed_rules(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.rule.to_string())
            .collect()
    }
}

/// What the consignment claims.
#[derive(Debug, Clone)]
pub struct Declared {
    pub checkpoint: Checkpoint,
    pub date: Date,
    pub exporter: Option<String>,
    pub importer: Option<String>,
    pub items: Vec<ShipmentLine>,
}

/// What the store knows that the rules need, gathered once per check.
#[derive(Debug, Clone)]
pub struct Facts {
    pub license: LicenseState,
    /// Ok(detail) when the issuing entry's key is trusted now for the
    /// authority at issue time; Err(detail) otherwise.
    pub signature: Result<String, String>,
    /// The import certificate an export relies on, when held.
    pub import_certificate: Option<LicenseState>,
    /// Transit authorizations that reference this export license.
    pub transits: Vec<LicenseState>,
    /// Accepted, recorded quantities of this license.
    pub tallies: Vec<TallyRow>,
    /// Declared serials already recorded in this direction (and transit country).
    pub used_serials: BTreeMap<String, SerialUse>,
    /// Accepted shipments already recorded in this direction (and transit country).
    pub accepted_shipments: u64,
    /// For a return: the declared serials (as declared) that exited under
    /// this license.
    pub exited_serials: BTreeSet<String>,
}

type Rule = fn(&Facts, &Declared) -> (bool, String);

/// The rules after `license.known`, in the contract's order.
pub const RULES: [(&str, Rule); 10] = [
    ("license.signature", signature),
    ("license.status", status),
    ("license.validity", validity),
    ("route.checkpoint", route),
    ("import.authorization", import_authorization),
    ("transit.authorization", transit_authorization),
    ("parties.match", parties),
    ("items.match", items_match),
    ("items.quantity", items_quantity),
    ("items.serials", items_serials),
];

/// The first rule: the license is held. When it fails it is the only check.
pub const LICENSE_KNOWN: &str = "license.known";

/// Every rule id in the contract's order, as a verdict lists its checks.
pub const RULE_IDS: [&str; 1 + RULES.len()] = {
    let mut ids = [LICENSE_KNOWN; 1 + RULES.len()];
    let mut i = 0;
    while i < RULES.len() {
        ids[i + 1] = RULES[i].0;
        i += 1;
    }
    ids
};

pub const NOT_APPLICABLE: &str = "not applicable";

fn na() -> (bool, String) {
    (true, NOT_APPLICABLE.to_string())
}

/// Runs every rule. `facts` is `None` when the license is unknown: then
/// `license.known` fails and is the only check.
pub fn evaluate(facts: Option<&Facts>, declared: &Declared, reference: &str) -> Verdict {
    let Some(facts) = facts else {
        return Verdict {
            checks: vec![Check {
                rule: LICENSE_KNOWN,
                ok: false,
                detail: format!("{reference} is not known to this node"),
            }],
            flags: vec![],
        };
    };
    let mut checks = vec![Check {
        rule: LICENSE_KNOWN,
        ok: true,
        detail: format!(
            "{} {} of {}, version {}",
            facts.license.kind.as_str(),
            facts.license.number,
            facts.license.authority,
            facts.license.version
        ),
    }];
    for (rule, f) in RULES {
        let (ok, detail) = f(facts, declared);
        checks.push(Check { rule, ok, detail });
    }
    let cp = &declared.checkpoint;
    let flags = tally_model::plan::unplanned(
        &facts.license.document,
        cp.direction,
        &cp.port,
        declared.date,
    )
    .map(|why| format!("shipment.unplanned: {why}"))
    .into_iter()
    .collect();
    Verdict { checks, flags }
}

fn signature(f: &Facts, _: &Declared) -> (bool, String) {
    match &f.signature {
        Ok(d) => (true, d.clone()),
        Err(d) => (false, d.clone()),
    }
}

fn status(f: &Facts, d: &Declared) -> (bool, String) {
    let s = f.license.status;
    let last = f
        .license
        .history
        .iter()
        .rev()
        .find(|e| e.event == s.as_str())
        .and_then(|e| e.reason.clone());
    match (s, last) {
        (Status::Active, _) => (true, "active".into()),
        // Goods of a temporary export come home whatever became of the
        // license (the record keeps the status it had).
        (s, _) if d.checkpoint.direction == Direction::Return => (
            true,
            format!("{}: a return brings the goods home", s.as_str()),
        ),
        (s, Some(reason)) if !reason.is_empty() => (false, format!("{}: {reason}", s.as_str())),
        (s, _) => (false, s.as_str().into()),
    }
}

fn within(from: &str, until: &str, date: Date) -> Result<(), String> {
    match (from.parse::<Date>(), until.parse::<Date>()) {
        (Ok(f), Ok(u)) if f <= date && date <= u => Ok(()),
        (Ok(f), Ok(_)) if date < f => Err(format!("{date} is before valid_from {from}")),
        (Ok(_), Ok(_)) => Err(format!("{date} is after valid_until {until}")),
        _ => Err(format!("unreadable validity {from}..{until}")),
    }
}

fn validity(f: &Facts, d: &Declared) -> (bool, String) {
    let (from, until) = f.license.document.validity();
    // A return is welcome after the license lapsed: `return.overdue`, not
    // the border, weighs a late one.
    if d.checkpoint.direction == Direction::Return
        && let Some(t) = tally_model::temporary::of(&f.license.document)
        && within(from, until, d.date).is_err()
    {
        return match from.parse::<Date>() {
            Ok(f) if d.date >= f => (
                true,
                format!(
                    "{} is a return after valid_until {until} (due back by {})",
                    d.date, t.return_by
                ),
            ),
            _ => (false, format!("{} is before valid_from {from}", d.date)),
        };
    }
    match within(from, until, d.date) {
        Ok(()) => (true, format!("{} is within {from}..{until}", d.date)),
        Err(e) => (false, e),
    }
}

fn route(f: &Facts, d: &Declared) -> (bool, String) {
    let c = d.checkpoint.country.as_str();
    let dir = d.checkpoint.direction;
    let expect = |want: &str, what: &str| {
        if c == want {
            (true, format!("{} at {c}, the {what}", dir.as_str()))
        } else {
            (
                false,
                format!("{} at {c}, but the {what} is {want}", dir.as_str()),
            )
        }
    };
    match (&f.license.document, dir) {
        (License::Export(l), Direction::Exit) => expect(&l.exporting_country, "exporting country"),
        (License::Export(l), Direction::Entry) => expect(&l.importing_country, "importing country"),
        (License::Export(l), Direction::Transit) => {
            if l.transit_countries.iter().any(|t| t == c) {
                (
                    true,
                    format!("transit through {c}, a listed transit country"),
                )
            } else if l.transit_countries.is_empty() {
                (
                    false,
                    format!("transit through {c}, but the license lists no transit countries"),
                )
            } else {
                (
                    false,
                    format!(
                        "transit through {c}, not one of the listed {}",
                        l.transit_countries.join(", ")
                    ),
                )
            }
        }
        (License::Export(l), Direction::Return) => match &l.temporary {
            Some(_) => expect(
                &l.exporting_country,
                "exporting country the goods return to",
            ),
            None => (
                false,
                "return of a permanent export: only a temporary export's goods return under it"
                    .into(),
            ),
        },
        (License::Import(l), Direction::Exit) => expect(&l.exporting_country, "exporting country"),
        (License::Import(l), Direction::Entry) => expect(&l.importing_country, "importing country"),
        (License::Import(_), Direction::Return) => (
            false,
            "an import certificate covers no return; check the temporary export license".into(),
        ),
        (License::Import(_), Direction::Transit) => (
            false,
            "an import certificate does not cover transit; check the export license".into(),
        ),
        (License::Transit(t), Direction::Transit) => expect(&t.transit_country, "transit country"),
        (License::Transit(_), dir) => (
            false,
            format!(
                "a transit authorization covers transit, not {}",
                dir.as_str()
            ),
        ),
        (License::Delivery(_), _) => (
            false,
            "a delivery verification covers no crossing; check the export license".into(),
        ),
        (License::Denial(_), _) => (
            false,
            "a denial refuses an export; it covers no crossing".into(),
        ),
        (License::EnduseRequest(_) | License::EnduseAnswer(_), _) => (
            false,
            "an end-use request or answer covers no crossing; check the export license".into(),
        ),
    }
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

fn import_authorization(f: &Facts, d: &Declared) -> (bool, String) {
    let License::Export(export) = &f.license.document else {
        return na();
    };
    // The import certificate is sealed to the importing and exporting
    // countries (the exporter checked it at issue); a transit State cannot
    // read it and does not judge it.
    if d.checkpoint.direction == Direction::Transit {
        return na();
    }
    // Goods coming home need no import certificate of the other State.
    if d.checkpoint.direction == Direction::Return {
        return na();
    }
    let Some(r) = &export.import_certificate else {
        return (
            false,
            "the export license names no import certificate".into(),
        );
    };
    let Some(ic) = &f.import_certificate else {
        // A record issued before Tally may cite a certificate that never
        // entered it (docs/PROTOCOL.md, migrated records): every node
        // judges it alike, and the answer says so.
        if export.migrated {
            return (
                true,
                format!(
                    "migrated record: import certificate {} of {} predates Tally and is not held",
                    r.number, r.authority
                ),
            );
        }
        return (
            false,
            format!(
                "import certificate {} of {} is not known to this node",
                r.number, r.authority
            ),
        );
    };
    let License::Import(cert) = &ic.document else {
        return (
            false,
            format!(
                "{} of {} is not an import certificate",
                r.number, r.authority
            ),
        );
    };
    if ic.authority.country().as_str() != export.importing_country {
        return (
            false,
            format!(
                "{} is not an authority of the importing country {}",
                ic.authority, export.importing_country
            ),
        );
    }
    if ic.status != Status::Active {
        return (
            false,
            format!("import certificate {} is {}", r.number, ic.status.as_str()),
        );
    }
    if let Err(e) = within(&cert.valid_from, &cert.valid_until, d.date) {
        return (false, format!("import certificate {}: {e}", r.number));
    }
    if !same_party(&cert.importer, &export.importer) {
        return (
            false,
            format!(
                "import certificate names importer {:?}, the license {:?}",
                cert.importer.name, export.importer.name
            ),
        );
    }
    // Per category and unit, the certificate must allow at least what the
    // export licenses.
    let (have, need) = (quantities(&cert.items), quantities(&export.items));
    if let Some((c, u, h, q)) = shortfall(&have, &need) {
        return (
            false,
            format!(
                "import certificate covers {h} {} of {}, the export licenses {q}",
                unit_name(u),
                category_name(c)
            ),
        );
    }
    (
        true,
        format!(
            "import certificate {} of {} is active, valid and covers the items",
            r.number, r.authority
        ),
    )
}

fn transit_authorization(f: &Facts, d: &Declared) -> (bool, String) {
    let License::Export(export) = &f.license.document else {
        return na();
    };
    if export.transit_countries.is_empty() {
        return (true, "no transit countries".into());
    }
    if d.checkpoint.direction == Direction::Return {
        return na();
    }
    let mut missing = Vec::new();
    for c in &export.transit_countries {
        let ok = f.transits.iter().any(|t| {
            let License::Transit(doc) = &t.document else {
                return false;
            };
            &doc.transit_country == c
                && t.authority.country().as_str() == c
                && t.status == Status::Active
                && within(&doc.valid_from, &doc.valid_until, d.date).is_ok()
        });
        if !ok {
            missing.push(c.as_str());
        }
    }
    if missing.is_empty() {
        (
            true,
            format!("authorized by {}", export.transit_countries.join(", ")),
        )
    } else {
        (
            false,
            format!(
                "no active, valid transit authorization from {}",
                missing.join(", ")
            ),
        )
    }
}

fn parties(f: &Facts, d: &Declared) -> (bool, String) {
    let (exp, imp) = match &f.license.document {
        License::Export(l) => (&l.exporter.name, &l.importer.name),
        License::Import(l) => (&l.exporter.name, &l.importer.name),
        _ => return na(),
    };
    let mut wrong = Vec::new();
    if let Some(e) = &d.exporter
        && norm(e) != norm(exp)
    {
        wrong.push(format!("exporter {e:?} is not the licensed {exp:?}"));
    }
    if let Some(i) = &d.importer
        && norm(i) != norm(imp)
    {
        wrong.push(format!("importer {i:?} is not the licensed {imp:?}"));
    }
    if !wrong.is_empty() {
        return (false, wrong.join("; "));
    }
    match (&d.exporter, &d.importer) {
        (None, None) => (true, "no parties declared".into()),
        _ => (true, "declared parties are the licensed ones".into()),
    }
}

fn has_items(f: &Facts) -> bool {
    matches!(f.license.kind, LicenseKind::Export | LicenseKind::Import)
}

fn items_match(f: &Facts, d: &Declared) -> (bool, String) {
    if !has_items(f) {
        return na();
    }
    if d.items.is_empty() {
        return (false, "no items declared".into());
    }
    let lines: BTreeSet<u32> = f.license.document.items().iter().map(|i| i.line).collect();
    let mut seen = BTreeSet::new();
    for it in &d.items {
        if !lines.contains(&it.line) {
            return (false, format!("line {} is not on the license", it.line));
        }
        if !seen.insert(it.line) {
            return (false, format!("line {} declared twice", it.line));
        }
        if it.quantity == 0 {
            return (false, format!("line {}: quantity 0", it.line));
        }
    }
    (
        true,
        format!("{} declared line(s) on the license", d.items.len()),
    )
}

/// Quantity of accepted shipments of `line` in the checkpoint's direction
/// (through this country, for transit).
pub fn shipped(f: &Facts, line: u32, cp: &Checkpoint) -> u64 {
    f.tallies
        .iter()
        .filter(|t| t.line == line && t.direction == cp.direction)
        .filter(|t| cp.direction != Direction::Transit || t.country == cp.country)
        .map(|t| t.quantity)
        .fold(0u64, u64::saturating_add)
}

/// For a return of a line: what exited and has not come back yet must
/// cover what is declared (exits counted anywhere the route allows them).
fn still_abroad(f: &Facts, it: &ShipmentLine, cp: &Checkpoint) -> Result<String, String> {
    let exit = Checkpoint {
        direction: Direction::Exit,
        ..cp.clone()
    };
    let (out, back) = (shipped(f, it.line, &exit), shipped(f, it.line, cp));
    let abroad = out.saturating_sub(back);
    if it.quantity > abroad {
        return Err(format!(
            "line {}: {} declared returning, {abroad} abroad ({out} exited, {back} back)",
            it.line, it.quantity
        ));
    }
    Ok(format!(
        "line {}: {} of {abroad} abroad",
        it.line, it.quantity
    ))
}

fn items_quantity(f: &Facts, d: &Declared) -> (bool, String) {
    if !has_items(f) {
        return na();
    }
    let single =
        matches!(&f.license.document, License::Export(l) if l.shipments == Shipments::Single);
    let returning = d.checkpoint.direction == Direction::Return;
    if single && !returning && f.accepted_shipments > 0 {
        return (
            false,
            format!(
                "single-shipment license already used at {}",
                d.checkpoint.direction.as_str()
            ),
        );
    }
    let mut parts = Vec::new();
    for it in &d.items {
        let Some(lic) = f
            .license
            .document
            .items()
            .iter()
            .find(|l| l.line == it.line)
        else {
            return (false, format!("line {} is not on the license", it.line));
        };
        if returning {
            match still_abroad(f, it, &d.checkpoint) {
                Ok(part) => parts.push(part),
                Err(why) => return (false, why),
            }
            continue;
        }
        // A migrated line's countdown starts from what crossed before Tally.
        let done = shipped(f, it.line, &d.checkpoint).saturating_add(lic.shipped_before);
        let left = lic.quantity.saturating_sub(done);
        if it.quantity > left {
            return (
                false,
                format!(
                    "line {}: {} declared, {left} left of {} after {done} recorded at {}",
                    it.line,
                    it.quantity,
                    lic.quantity,
                    d.checkpoint.direction.as_str()
                ),
            );
        }
        parts.push(format!("line {}: {} of {left} left", it.line, it.quantity));
    }
    if parts.is_empty() {
        return (false, "no items declared".into());
    }
    (true, parts.join("; "))
}

fn items_serials(f: &Facts, d: &Declared) -> (bool, String) {
    if !has_items(f) {
        return na();
    }
    // Sets of normalized serials: one pass over the declaration and one over
    // each licensed line, whatever their sizes.
    let listed: BTreeMap<u32, BTreeSet<String>> = f
        .license
        .document
        .items()
        .iter()
        .map(|l| {
            (
                l.line,
                l.serials.iter().map(|s| normalize_serial(s)).collect(),
            )
        })
        .collect();
    let used: BTreeMap<String, &SerialUse> = f
        .used_serials
        .iter()
        .map(|(s, u)| (normalize_serial(s), u))
        .collect();
    let mut declared = 0;
    let mut seen = BTreeSet::new();
    for it in &d.items {
        let listed = listed.get(&it.line);
        for s in &it.serials {
            declared += 1;
            let n = normalize_serial(s);
            if !seen.insert(n.clone()) {
                return (false, format!("serial {s:?} declared twice"));
            }
            if let Some(listed) = listed
                && !listed.is_empty()
                && !listed.contains(&n)
            {
                return (false, format!("serial {s:?} is not on line {}", it.line));
            }
            if d.checkpoint.direction == Direction::Return && !f.exited_serials.contains(s) {
                return (
                    false,
                    format!(
                        "serial {s:?} did not exit under this license: it cannot return under it"
                    ),
                );
            }
            if let Some(u) = used.get(&n) {
                return (
                    false,
                    format!(
                        "serial {s:?} already crossed at {} on {} (recorded by {}, seq {})",
                        d.checkpoint.direction.as_str(),
                        u.date,
                        u.recorded_by,
                        u.seq
                    ),
                );
            }
        }
    }
    if declared == 0 {
        (true, "no serials declared".into())
    } else {
        (
            true,
            format!("{declared} serial(s) on the license and not seen before"),
        )
    }
}

#[cfg(test)]
mod tests;
