//! Need-to-know over real nodes: a document is sealed to the authorities of
//! its party countries. Every trusted node holds, verifies and relays the
//! entry; only the parties read it, and a bystander keeps no plaintext.

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use tally_tests::{As, Net, docs, wait_until};

const REPLICATION: Duration = Duration::from_secs(20);
/// A string that appears only inside the export license's document.
const MARKER: &str = "Unidad Especial de Prueba Sellada";
const PUBLIC_MARKER: &str = "Unidad Especial de Prueba Publica";

/// MX-SEDENA (node `mx`) issues import certificate `number` of `quantity`
/// pistols from the US, and US-DDTC (node `us`) receives it: the
/// certificate comes first (linkage at issue).
async fn certificate_first(
    net: &Net,
    mx: usize,
    us: usize,
    number: &str,
    quantity: u64,
) -> Result<()> {
    let (status, ic) = net
        .api(mx)
        .post(
            As::Issuer,
            "/v1/licenses",
            &docs::import(number, "MX", "US", quantity),
        )
        .await?;
    ensure!(status == 201, "import certificate: {status} {ic}");
    let path = format!("/v1/licenses/MX-SEDENA/{number}");
    let us = net.api(us);
    wait_until(REPLICATION, "US reads the import certificate", async || {
        us.get(As::Officer, &path)
            .await
            .is_ok_and(|(s, _)| s == 200)
    })
    .await?;
    Ok(())
}

/// Every byte of every file under `dir`.
fn bytes_under(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if let Ok(b) = std::fs::read(&p) {
            out.extend(b);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_parties_read_a_sealed_license() -> Result<()> {
    // US exports to MX through GT; CA is trusted by everyone but is no party.
    let net = Net::start_with(&["US-DDTC", "MX-SEDENA", "GT-DIGECAM", "CA-GAC"]).await?;
    let (us, mx, gt, ca) = (net.api(0), net.api(1), net.api(2), net.api(3));

    // Room for this export and the network-visible one below.
    certificate_first(&net, 1, 0, "IC-1", 20).await?;
    let mut export = docs::export("EXP-S1", &["GT"], 10, &[], "IC-1");
    export["end_user"] = json!({"name": MARKER});
    let (status, issued) = us.post(As::Issuer, "/v1/licenses", &export).await?;
    ensure!(status == 201, "export: {status} {issued}");
    let mut recipients: Vec<&str> = issued["recipients"]
        .as_array()
        .context("recipients")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(recipients.first(), Some(&"US-DDTC"), "the issuer first");
    recipients.sort_unstable();
    assert_eq!(
        recipients,
        ["GT-DIGECAM", "MX-SEDENA", "US-DDTC"],
        "{issued}"
    );
    assert_eq!(issued["warnings"], json!([]));
    let seq = issued["entry"]["seq"].as_u64().context("seq")?;

    // Every node holds the entry (the chain is for everyone).
    net.converge(REPLICATION).await?;
    for api in [&mx, &gt] {
        let path = "/v1/licenses/US-DDTC/EXP-S1";
        let what = format!("{} reads the export", api.base);
        wait_until(REPLICATION, &what, async || {
            api.get(As::Officer, path)
                .await
                .is_ok_and(|(s, _)| s == 200)
        })
        .await?;
        let (_, body) = api.get(As::Officer, path).await?;
        assert_eq!(body["document"]["end_user"]["name"], MARKER);
        // Who can read it: the sealed recipient list, the issuer first.
        let mut readers: Vec<&str> = body["readers"]
            .as_array()
            .context("readers")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(readers.first(), Some(&"US-DDTC"), "{body}");
        readers.sort_unstable();
        assert_eq!(readers, ["GT-DIGECAM", "MX-SEDENA", "US-DDTC"], "{body}");
    }

    // The bystander: 404 as for an unknown license, `sealed` in the log, a
    // check fails license.known, and not a byte of the content on its disk.
    let (status, _) = ca.get(As::Officer, "/v1/licenses/US-DDTC/EXP-S1").await?;
    assert_eq!(status, 404);
    let (_, log) = ca
        .get(As::Officer, &format!("/v1/log/US-DDTC?from={seq}&limit=1"))
        .await?;
    assert_eq!(log[0]["kind"], "sealed", "{log}");
    let check = json!({
        "license": {"authority": "US-DDTC", "number": "EXP-S1"},
        "checkpoint": {"country": "CA", "port": "CAVAN", "direction": "entry"},
        "items": [{"line": 1, "quantity": 1}]
    });
    let (status, verdict) = ca.post(As::Officer, "/v1/shipments/verify", &check).await?;
    assert_eq!(status, 200);
    assert_eq!(verdict["checks"][0]["rule"], "license.known");
    assert_eq!(verdict["checks"][0]["ok"], false);
    let (status, shipments) = ca
        .get(As::Officer, "/v1/shipments?authority=US-DDTC&number=EXP-S1")
        .await?;
    assert_eq!((status, shipments), (200, json!([])));

    let ca_store = bytes_under(&net.dir(3).join("store"));
    assert!(!ca_store.is_empty());
    assert!(
        !contains(&ca_store, MARKER),
        "a non-recipient keeps no plaintext of a sealed document"
    );
    // Nor does a recipient keep a clear copy: it opens the sealed entry
    // again whenever it reads the license (as it just did, above).
    assert!(
        !contains(&bytes_under(&net.dir(1).join("store")), MARKER),
        "a recipient reads a sealed document from its sealed entry"
    );

    // Published to the network, everyone reads it.
    let mut public = docs::export("EXP-P1", &["GT"], 10, &[], "IC-1");
    public["visibility"] = json!("network");
    public["end_user"] = json!({"name": PUBLIC_MARKER});
    let (status, issued) = us.post(As::Issuer, "/v1/licenses", &public).await?;
    ensure!(status == 201, "network export: {status} {issued}");
    assert_eq!(issued["recipients"], json!([]));
    wait_until(
        REPLICATION,
        "CA reads the network-visible export",
        async || {
            ca.get(As::Officer, "/v1/licenses/US-DDTC/EXP-P1")
                .await
                .is_ok_and(|(s, _)| s == 200)
        },
    )
    .await?;
    let (_, body) = ca.get(As::Officer, "/v1/licenses/US-DDTC/EXP-P1").await?;
    assert_eq!(body.get("readers"), None, "in clear: {body}");
    assert!(
        contains(&bytes_under(&net.dir(3).join("store")), PUBLIC_MARKER),
        "the test's search finds a marker where the document is in clear"
    );
    net.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_party_with_no_trusted_authority_is_warned_and_unreached() -> Result<()> {
    // Nobody in GT: the US issues anyway, and is told no one there can read it.
    let net = Net::start_with(&["US-DDTC", "MX-SEDENA"]).await?;
    certificate_first(&net, 1, 0, "IC-1", 10).await?;
    let (_, issued) = net
        .api(0)
        .post(
            As::Issuer,
            "/v1/licenses",
            &docs::export("EXP-W1", &["GT"], 10, &[], "IC-1"),
        )
        .await?;
    let warnings = issued["warnings"].as_array().context("warnings")?;
    assert_eq!(warnings.len(), 1, "{issued}");
    assert!(
        warnings[0].as_str().is_some_and(|w| w.contains("GT")),
        "{issued}"
    );
    // MX still reads it: GT's absence is declared inside the seal.
    let mx = net.api(1);
    wait_until(REPLICATION, "MX reads the export", async || {
        mx.get(As::Officer, "/v1/licenses/US-DDTC/EXP-W1")
            .await
            .is_ok_and(|(s, _)| s == 200)
    })
    .await?;
    let (_, alerts) = mx.get(As::Officer, "/v1/alerts").await?;
    assert_eq!(
        alerts,
        json!([]),
        "an unreached party is not an invalid seal"
    );
    net.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn peers_seal_to_the_newest_encryption_key_announced_in_the_log() -> Result<()> {
    let net = Net::start_with(&["US-DDTC", "MX-SEDENA"]).await?;
    let (us, mx) = (net.api(0), net.api(1));
    // Sealed to US's first key (the one on the card MX trusts).
    let (status, _) = mx
        .post(
            As::Issuer,
            "/v1/licenses",
            &docs::import("IC-OLD", "MX", "US", 5),
        )
        .await?;
    ensure!(status == 201);
    let (status, rotated) = us
        .post(
            As::Admin,
            "/v1/keys/rotate",
            &json!({"purpose": "encryption"}),
        )
        .await?;
    ensure!(status == 200, "rotate: {status} {rotated}");
    let new_key = rotated["key_id"].as_str().context("key_id")?.to_string();
    let announced_at = rotated["entry"]["seq"].as_u64().context("seq")?;
    // The old secret is kept beside the new one, mode 0600.
    let retired = net
        .dir(0)
        .join(format!("keys/encryption.key.retired-{announced_at}"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&retired)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", retired.display());
    // The card now lists the new key too.
    let card = std::fs::read_to_string(net.dir(0).join("card.toml"))?;
    assert!(card.contains(&new_key), "{card}");

    // MX learns the key from US's log (no new card) and seals to it.
    wait_until(REPLICATION, "MX holds US's announcement", async || {
        net.seq(1, "US-DDTC").is_ok_and(|s| s >= announced_at)
    })
    .await?;
    let (status, _) = mx
        .post(
            As::Issuer,
            "/v1/licenses",
            &docs::import("IC-NEW", "MX", "US", 5),
        )
        .await?;
    ensure!(status == 201);
    for number in ["IC-OLD", "IC-NEW"] {
        let path = format!("/v1/licenses/MX-SEDENA/{number}");
        let what = format!("US reads {number}");
        wait_until(REPLICATION, &what, async || {
            us.get(As::Officer, &path)
                .await
                .is_ok_and(|(s, _)| s == 200)
        })
        .await?;
    }
    let (_, alerts) = us.get(As::Officer, "/v1/alerts").await?;
    assert_eq!(alerts, json!([]), "nothing failed to open");
    // IC-NEW opens with the new secret alone, and is not addressed to the
    // old one: MX sealed to the key it saw announced in US's log.
    let secret = |path: std::path::PathBuf| -> Result<tally_model::EncryptionSecret> {
        let text = std::fs::read_to_string(&path)?;
        let bytes: [u8; 32] = hex::decode(text.trim())?
            .try_into()
            .map_err(|_| anyhow::anyhow!("not 32 bytes"))?;
        Ok(tally_model::EncryptionSecret::from_bytes(bytes))
    };
    let (new, old) = (
        secret(net.dir(0).join("keys/encryption.key"))?,
        secret(retired)?,
    );
    assert_eq!(new.public().to_hex(), new_key);
    let mx_card = tally_node::files::read_card(&net.dir(1).join("card.toml"))?;
    let mx_keys: Vec<_> = mx_card
        .encryption_keys
        .iter()
        .filter_map(|k| tally_model::EncryptionPublic::parse(&k.public_key))
        .collect();
    let mx_id: tally_model::AuthorityId = "MX-SEDENA".parse()?;
    let store = net.reader(0)?;
    let head = store.head(&mx_id)?.context("MX's log")?.0;
    let entry = store.entry_at(&mx_id, head)?.context("held")?.open()?;
    let tally_model::Body::Sealed(sealed) = &entry.body else {
        anyhow::bail!("IC-NEW went out in clear");
    };
    let pairs = tally_model::PairKeys::default();
    let header = tally_model::Header::of(&entry);
    let with = |s: &tally_model::EncryptionSecret| {
        tally_model::open(header, sealed, &mx_keys, std::slice::from_ref(s), &pairs)
    };
    assert!(matches!(with(&new), tally_model::Opening::Opened(_)));
    assert!(matches!(with(&old), tally_model::Opening::NotAddressed));
    net.shutdown().await;
    Ok(())
}

/// Node `i`'s encryption secret, from its key file (the test is its operator).
fn encryption_secret(net: &Net, i: usize) -> Result<tally_model::EncryptionSecret> {
    tally_node::keys::load_or_create_encryption_key(&net.dir(i).join("keys/encryption.key"))
}

/// An entry of node `from`'s authority at `seq` after `prev`, carrying the
/// license `doc` sealed to the authorities of nodes `to`, signed with
/// `from`'s key: what that authority's node would send. `tamper` flips a
/// bit of every stanza's wrapped key, so the stanza addressed to a reader
/// matches its tag and then does not unwrap.
fn sealed_entry(
    net: &Net,
    from: usize,
    seq: u64,
    prev: Option<tally_model::EntryHash>,
    doc: Value,
    to: &[usize],
    tamper: bool,
) -> Result<tally_model::SignedEntry> {
    let authority: tally_model::AuthorityId = net.authority(from).parse()?;
    let recipients = to
        .iter()
        .map(|&i| {
            Ok(tally_model::Recipient {
                authority: net.authority(i).parse()?,
                encryption_key: encryption_secret(net, i)?.public(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let header = tally_model::Header {
        authority: &authority,
        seq,
        prev,
    };
    let document = tally_model::Document::License(serde_json::from_value(doc)?);
    let mut sealed = tally_model::seal(
        &encryption_secret(net, from)?,
        header,
        &document,
        &recipients,
        &[],
        &mut tally_model::OsRandom,
        &tally_model::PairKeys::default(),
    )?;
    if tamper {
        for s in &mut sealed.stanzas {
            s.wrapped[40] ^= 0x01;
        }
    }
    let entry = tally_model::Entry {
        authority,
        seq,
        prev,
        issued_at_ms: tally_verify::now_ms(),
        recipients: vec![],
        body: tally_model::Body::Sealed(sealed),
    };
    let key = tally_node::keys::load_authority_key(&net.dir(from).join("keys/authority.key"))?;
    Ok(key.sign(&entry).signed().clone())
}

/// A stanza addressed to MX that does not open: the entry is kept (it is
/// GT's log, signed and chained), listed as sealed, raises `party.excluded`
/// at MX (only MX can tell its stanza is broken), and GT's log goes on: the
/// next sealed entry opens and applies as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_matching_stanza_that_does_not_open_is_party_excluded_and_the_log_goes_on() -> Result<()>
{
    use tally_verify::IngestOutcome;
    let (mx, gt) = (0, 1);
    let mut net = Net::init(&["MX-SEDENA", "GT-DIGECAM"])?;
    net.trust_without_dialing(mx, gt)?;
    net.start_node(mx).await?;

    // GT's import certificates from MX: MX, the exporting country, reads them.
    let bad = sealed_entry(
        &net,
        gt,
        1,
        None,
        docs::import("IC-GT-1", "GT", "MX", 5),
        &[mx],
        true,
    )?;
    let good = sealed_entry(
        &net,
        gt,
        2,
        Some(bad.id()),
        docs::import("IC-GT-2", "GT", "MX", 5),
        &[mx],
        false,
    )?;
    let got = net.ingest(mx, vec![bad, good]).await?;
    ensure!(
        got.iter().all(|o| matches!(o, IngestOutcome::Accepted(_))),
        "both stored and Accepted for gossip: {got:?}"
    );

    let api = net.api(mx);
    let (status, alerts) = api.get(As::Officer, "/v1/alerts").await?;
    ensure!(status == 200, "{status} {alerts}");
    let alerts = alerts.as_array().context("alerts")?;
    ensure!(alerts.len() == 1, "{alerts:?}");
    assert_eq!(alerts[0]["id"], "party.excluded:-:GT-DIGECAM:1");
    assert_eq!(alerts[0]["kind"], "party.excluded");
    let detail = alerts[0]["detail"].as_str().context("detail")?;
    ensure!(detail.contains("does not open"), "{detail}");

    let (status, _) = api
        .get(As::Officer, "/v1/licenses/GT-DIGECAM/IC-GT-1")
        .await?;
    assert_eq!(status, 404, "an unopenable document is not applied");
    let (status, body) = api
        .get(As::Officer, "/v1/licenses/GT-DIGECAM/IC-GT-2")
        .await?;
    assert_eq!(status, 200, "the next entry applies: {body}");
    let (_, log) = api.get(As::Officer, "/v1/log/GT-DIGECAM?from=1").await?;
    let log = log.as_array().context("log")?;
    ensure!(log.len() == 2, "{log:?}");
    assert_eq!(log[0]["kind"], "sealed", "{log:?}");
    assert_eq!(net.seq(mx, "GT-DIGECAM")?, 2);
    net.shutdown().await;
    Ok(())
}

/// GT forks its log with two sealed entries at seq 1, both for MX. CA, a
/// bystander that can open neither, still proves the fork: the proof is
/// stored and served at `GET /v1/evidence`, `equivocation` is raised, and
/// the proof reaches MX.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bystander_proves_equivocation_of_sealed_entries() -> Result<()> {
    use tally_verify::{IngestOutcome, Rejection};
    let (ca, mx, gt) = (0, 1, 2);
    let mut net = Net::init(&["CA-GAC", "MX-SEDENA", "GT-DIGECAM"])?;
    net.trust_without_dialing(ca, gt)?;
    net.trust_without_dialing(mx, gt)?;
    net.start_node(ca).await?;
    net.start_node(mx).await?;

    let one = sealed_entry(
        &net,
        gt,
        1,
        None,
        docs::import("IC-GT-1", "GT", "MX", 5),
        &[mx],
        false,
    )?;
    let other = sealed_entry(
        &net,
        gt,
        1,
        None,
        docs::import("IC-GT-1", "GT", "MX", 500),
        &[mx],
        false,
    )?;
    let got = net.ingest(ca, vec![one.clone(), other]).await?;
    ensure!(
        matches!(
            got[..],
            [
                IngestOutcome::Accepted(_),
                IngestOutcome::Rejected(Rejection::Equivocation(_))
            ]
        ),
        "{got:?}"
    );

    let api = net.api(ca);
    let (status, evidence) = api.get(As::Officer, "/v1/evidence").await?;
    ensure!(status == 200, "{status} {evidence}");
    let evidence = evidence.as_array().context("an array")?;
    ensure!(evidence.len() == 1, "{evidence:?}");
    ensure!(
        evidence[0]["authority"] == "GT-DIGECAM" && evidence[0]["seq"] == 1,
        "{evidence:?}"
    );
    let (_, alerts) = api.get(As::Officer, "/v1/alerts").await?;
    ensure!(
        alerts.to_string().contains("equivocation:-:GT-DIGECAM:1"),
        "{alerts}"
    );
    // CA read neither side: no license, the held entry listed as sealed.
    let (status, _) = api
        .get(As::Officer, "/v1/licenses/GT-DIGECAM/IC-GT-1")
        .await?;
    assert_eq!(status, 404);
    let (_, log) = api.get(As::Officer, "/v1/log/GT-DIGECAM?from=1").await?;
    assert_eq!(log[0]["kind"], "sealed", "{log}");
    ensure!(
        net.stores(ca, &one.id())?,
        "the first side is the one of record"
    );

    // The proof travels: MX, connected to CA only, learns of the fork.
    net.trust(ca, mx)?;
    net.trust(mx, ca)?;
    net.wait_links().await?;
    wait_until(REPLICATION, "MX holds the proof", async || {
        net.reader(mx)
            .and_then(|r| Ok(r.evidence()?))
            .is_ok_and(|e| e.iter().any(|p| p.seq == 1))
    })
    .await?;
    net.shutdown().await;
    Ok(())
}

/// docs/API.md (`tally trust revoke-key`, encryption key): a document sealed to
/// a compromised encryption key in an entry issued after the compromised
/// authority's entry N is not trusted; one sealed before it still is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_document_sealed_to_a_compromised_encryption_key_after_the_cutoff_is_not_trusted()
-> Result<()> {
    let net = Net::start_with(&["US-DDTC", "MX-SEDENA", "GT-DIGECAM"]).await?;
    let (us, mx, gt) = (net.api(0), net.api(1), net.api(2));
    certificate_first(&net, 1, 0, "IC-1", 20).await?;
    let issue = async |number: &str| -> Result<()> {
        let export = docs::export(number, &["GT"], 5, &[], "IC-1");
        let (status, body) = us.post(As::Issuer, "/v1/licenses", &export).await?;
        ensure!(status == 201, "{number}: {status} {body}");
        let path = format!("/v1/licenses/US-DDTC/{number}");
        wait_until(REPLICATION, "MX and GT read the export", async || {
            mx.get(As::Officer, &path)
                .await
                .is_ok_and(|(s, _)| s == 200)
                && gt
                    .get(As::Officer, &path)
                    .await
                    .is_ok_and(|(s, _)| s == 200)
        })
        .await?;
        Ok(())
    };
    // Sealed to US, MX and GT, before GT's entry 1.
    issue("EXP-C1").await?;
    let (status, body) = gt
        .post(
            As::Issuer,
            "/v1/licenses",
            &docs::transit("TR-C1", "GT", "EXP-C1"),
        )
        .await?;
    ensure!(status == 201, "transit: {status} {body}");
    let gt_seq = body["entry"]["seq"].as_u64().context("seq")?;
    // After it: sealed to GT's key too (US has declared nothing).
    issue("EXP-C2").await?;
    wait_until(REPLICATION, "MX holds GT's entry", async || {
        mx.get(As::Officer, "/v1/licenses/GT-DIGECAM/TR-C1")
            .await
            .is_ok_and(|(s, _)| s == 200)
    })
    .await?;

    let signature = async |number: &str| -> Result<Value> {
        let check = json!({
            "license": {"authority": "US-DDTC", "number": number},
            "checkpoint": {"country": "MX", "port": "MXNLD", "direction": "entry"},
            "items": [{"line": 1, "quantity": 1}]
        });
        let (status, verdict) = mx.post(As::Officer, "/v1/shipments/verify", &check).await?;
        ensure!(status == 200, "{status} {verdict}");
        verdict["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["rule"] == "license.signature"))
            .cloned()
            .context("license.signature")
    };
    assert_eq!(signature("EXP-C2").await?["ok"], true);

    // MX's administrator declares GT's encryption key compromised after
    // GT's seq of the transit authorization.
    let card = tally_node::files::read_card(&net.dir(2).join("card.toml"))?;
    let key = &card.encryption_keys.last().context("GT's key")?.public_key;
    tally_node::admin::trust_revoke_key(net.dir(1), "GT-DIGECAM", key, gt_seq)?;
    wait_until(REPLICATION, "MX distrusts EXP-C2", async || {
        signature("EXP-C2").await.is_ok_and(|c| c["ok"] == false)
    })
    .await?;
    let c2 = signature("EXP-C2").await?;
    let detail = c2["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("GT-DIGECAM") && detail.contains("not trusted"),
        "{c2}"
    );
    let c1 = signature("EXP-C1").await?;
    assert_eq!(c1["ok"], true, "sealed before the cutoff: {c1}");
    net.shutdown().await;
    Ok(())
}

/// A recipient that was offline while sealed licenses were issued pulls
/// them on restart (catch-up: the range's sealed documents are opened beside
/// the signature checks, then applied) and reads them, keeping no
/// plaintext.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recipient_catches_up_on_sealed_licenses_and_reads_them() -> Result<()> {
    let mut net = Net::start_with(&["US-DDTC", "MX-SEDENA", "GT-DIGECAM"]).await?;
    certificate_first(&net, 1, 0, "IC-1", 50).await?;
    let gt = 2;
    net.stop_node(gt).await?;
    const N: usize = 5;
    for n in 0..N {
        let mut export = docs::export(&format!("EXP-C{n}"), &["GT"], 10, &[], "IC-1");
        export["end_user"] = json!({"name": MARKER});
        let (status, issued) = net.api(0).post(As::Issuer, "/v1/licenses", &export).await?;
        ensure!(status == 201, "export {n}: {status} {issued}");
        ensure!(
            issued["recipients"]
                .as_array()
                .is_some_and(|r| r.len() == 3),
            "sealed to US, MX and GT: {issued}"
        );
    }

    net.start_node(gt).await?;
    let api = net.api(gt);
    let last = format!("/v1/licenses/US-DDTC/EXP-C{}", N - 1);
    wait_until(REPLICATION, "GT reads the licenses it missed", async || {
        api.get(As::Officer, &last)
            .await
            .is_ok_and(|(s, _)| s == 200)
    })
    .await?;
    for n in 0..N {
        let (status, body) = api
            .get(As::Officer, &format!("/v1/licenses/US-DDTC/EXP-C{n}"))
            .await?;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["document"]["end_user"]["name"], MARKER, "{body}");
    }
    let pulled = api
        .metric("tally_entries_total{source=\"sync\",outcome=\"accepted\"}")
        .await?;
    assert!(
        pulled >= N as u64,
        "the licenses came by catch-up: {pulled}"
    );
    assert!(
        !contains(&bytes_under(&net.dir(gt).join("store")), MARKER),
        "a recipient keeps no plaintext after a catch-up either"
    );
    net.shutdown().await;
    Ok(())
}
