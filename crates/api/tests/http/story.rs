//! A license's life over the API: issue, read, amend, suspend, reinstate,
//! revoke, and the 409 on reinstating a revoked license.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::json;

fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && s.ends_with('Z')
}

#[tokio::test]
async fn issue_read_amend_suspend_reinstate_revoke() {
    let r = Rig::new();
    r.foreign_documents();
    let (i, o) = (Some(r.issuer.as_str()), Some(r.officer.as_str()));

    // Issue.
    let doc = export("EXP-1");
    let a = r.post("/v1/licenses", i, &doc).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let created = a.json();
    assert_eq!(created["authority"], US);
    assert_eq!(created["number"], "EXP-1");
    assert_eq!(created["entry"]["seq"], 1);
    let hash = created["entry"]["hash"].as_str().expect("hash").to_string();
    assert_eq!(hash.len(), 64);
    assert_eq!(
        created
            .as_object()
            .expect("object")
            .keys()
            .collect::<Vec<_>>(),
        ["authority", "entry", "number", "recipients", "warnings"]
    );

    // Read it back.
    let a = r.get("/v1/licenses/US-DDTC/EXP-1", o).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.content_type().starts_with("application/json"));
    let l = a.json();
    assert_eq!(l["authority"], US);
    assert_eq!(l["number"], "EXP-1");
    assert_eq!(l["kind"], "export");
    assert_eq!(l["status"], "active");
    assert_eq!(l["version"], 1);
    // As issued, with who prepared and signed it: the token's holder (its
    // label, as the rig's tokens name nobody).
    let mut issued = doc.clone();
    issued["prepared_by"] = json!({"name": "issuer"});
    issued["signatory"] = json!({"name": "issuer"});
    assert_eq!(l["document"], issued, "the document as issued");
    assert!(
        is_rfc3339_utc(l["issued_at"].as_str().expect("issued_at")),
        "{}",
        l["issued_at"]
    );
    assert_eq!(l["entry"], json!({"seq": 1, "hash": hash}));
    assert_eq!(
        l["tally"],
        json!([{"line": 1, "licensed": 100, "exit": 0, "transit": 0, "entry": 0, "delivered": 0},
               {"line": 2, "licensed": 5000, "exit": 0, "transit": 0, "entry": 0, "delivered": 0}])
    );
    assert_eq!(l["history"][0]["event"], "issued");
    let transits = l["transit_authorizations"]
        .as_array()
        .expect("transits of an export");
    assert_eq!(transits.len(), 1);
    assert_eq!(transits[0]["authority"], GT);
    assert_eq!(transits[0]["number"], "TR-1");
    assert_eq!(transits[0]["status"], "active");

    // A foreign import certificate reads the same way, without transit list.
    let a = r.get("/v1/licenses/MX-SEDENA/IC-1", o).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let ic = a.json();
    assert_eq!(ic["kind"], "import");
    assert_eq!(ic["document"], import_certificate("IC-1"));
    assert!(ic.get("transit_authorizations").is_none());
    let a = r.get("/v1/licenses/GT-DIGECAM/TR-1", o).await;
    assert_eq!(a.json()["tally"], json!([]));

    // Amend: lowering a quantity is fine.
    let mut lower = doc.clone();
    lower["items"][0]["quantity"] = json!(90);
    lower["transit_countries"] = json!([]);
    let a = r.post("/v1/licenses/US-DDTC/EXP-1/amend", i, &lower).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["version"], 2);
    assert_eq!(a.json()["entry"]["seq"], 2);
    let l = r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json();
    assert_eq!(l["version"], 2);
    let mut amended = lower.clone();
    amended["prepared_by"] = json!({"name": "issuer"});
    amended["signatory"] = json!({"name": "issuer"});
    assert_eq!(l["document"], amended);
    assert_eq!(l["tally"][0]["licensed"], 90);
    assert_eq!(l["entry"]["seq"], 1, "entry stays the issuing one");

    // Raising it back is not.
    let a = r.post("/v1/licenses/US-DDTC/EXP-1/amend", i, &doc).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.error_code(), "invalid_amendment");
    // Nor may the kind or number change.
    let a = r
        .post("/v1/licenses/US-DDTC/EXP-1/amend", i, &export("EXP-2"))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.error_code(), "invalid_amendment");
    assert_eq!(
        r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json()["version"],
        2
    );

    // Suspend, then a check sees it.
    let a = r
        .post(
            "/v1/licenses/US-DDTC/EXP-1/status",
            i,
            &json!({"status": "suspended", "reason": "under review"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["status"], "suspended");
    assert_eq!(a.json()["entry"]["seq"], 3);
    assert_eq!(
        r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json()["status"],
        "suspended"
    );
    let v = r
        .verify(&shipment("EXP-1", "US", "exit", 1, &[], false))
        .await;
    assert_eq!(v["verdict"], "reject");
    let status_check = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["rule"] == "license.status")
        .expect("license.status")
        .clone();
    assert_eq!(status_check["ok"], false);
    assert_eq!(v["license"]["status"], "suspended");

    // Reinstate.
    let a = r
        .post(
            "/v1/licenses/US-DDTC/EXP-1/status",
            i,
            &json!({"status": "active", "reason": "cleared"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json()["status"],
        "active"
    );

    // Revoke: final.
    let a = r
        .post(
            "/v1/licenses/US-DDTC/EXP-1/status",
            i,
            &json!({"status": "revoked", "reason": "diversion"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["entry"]["seq"], 5);
    let before = r.heads().await;
    let a = r
        .post(
            "/v1/licenses/US-DDTC/EXP-1/status",
            i,
            &json!({"status": "active", "reason": "oops"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    assert_eq!(a.error_code(), "conflict");
    let a = r.post("/v1/licenses/US-DDTC/EXP-1/amend", i, &lower).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    assert_eq!(r.heads().await, before);

    let l = r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json();
    assert_eq!(l["status"], "revoked");
    let events: Vec<&str> = l["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        events,
        ["issued", "amended", "suspended", "active", "revoked"]
    );

    // The log shows every entry, chained, with the signed bytes.
    let log = r.get("/v1/log/US-DDTC", o).await.json();
    let log = log.as_array().expect("log");
    assert_eq!(log.len(), 5);
    let kinds: Vec<&str> = log.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["export", "amendment", "status", "status", "status"]);
    assert_eq!(log[0]["prev"], json!(null));
    for pair in log.windows(2) {
        assert_eq!(pair[1]["prev"], pair[0]["hash"]);
        assert_eq!(
            pair[1]["seq"].as_u64(),
            pair[0]["seq"].as_u64().map(|s| s + 1)
        );
    }
    use base64::Engine as _;
    for e in log {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(e["signed_entry"].as_str().expect("base64"))
            .expect("decodes");
        let signed = tally_model::SignedEntry::decode(&bytes).expect("a signed entry");
        assert_eq!(signed.id().to_hex(), e["hash"].as_str().expect("hash"));
        signed
            .verify_with(&key(1).public())
            .expect("signed by US-DDTC");
        assert!(is_rfc3339_utc(e["issued_at"].as_str().expect("issued_at")));
    }
    let page = r.get("/v1/log/US-DDTC?from=2&limit=2", o).await.json();
    let seqs: Vec<u64> = page
        .as_array()
        .expect("page")
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    assert_eq!(seqs, [2, 3]);
    let clamped = r
        .get("/v1/log/US-DDTC?from=0&limit=1000000", o)
        .await
        .json();
    assert_eq!(clamped.as_array().map(Vec::len), Some(5));
    assert_eq!(r.get("/v1/log/CA-CBSA", o).await.json(), json!([]));
    let mx = r.get("/v1/log/MX-SEDENA", o).await.json();
    assert_eq!(mx[0]["kind"], "import");
}

#[tokio::test]
async fn an_import_certificate_shows_its_allocation_and_the_exports_citing_it() {
    let r = Rig::new();
    let mut ic = import_certificate("IC-1");
    ic["items"][0]["quantity"] = json!(250);
    ic["items"][1]["quantity"] = json!(20000);
    r.ingest_foreign(MX, ic);
    for number in ["EXP-1", "EXP-2"] {
        r.issue(&export(number)).await;
    }
    // 100 pistols each: 50 left, so a third export of 100 is refused.
    let a = r
        .post("/v1/licenses", Some(&r.issuer), &export("EXP-3"))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.error_code(), "invalid_document");
    assert!(
        a.text.contains("50 units of firearm unallocated"),
        "{}",
        a.text
    );

    let get = || r.get("/v1/licenses/MX-SEDENA/IC-1", Some(&r.officer));
    let ic = get().await.json();
    assert_eq!(
        ic["allocated"],
        json!([
            {"category": "firearm", "unit": "units", "licensed": 250, "allocated": 200},
            {"category": "ammunition", "unit": "rounds", "licensed": 20000, "allocated": 10000}
        ])
    );
    assert_eq!(
        ic["export_licenses"],
        json!([{"authority": "US-DDTC", "number": "EXP-1"}, {"authority": "US-DDTC", "number": "EXP-2"}])
    );

    // Revoking an export releases its allocation; it stays listed.
    let a = r
        .post(
            "/v1/licenses/US-DDTC/EXP-1/status",
            Some(&r.issuer),
            &json!({"status": "revoked", "reason": "diversion"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let ic = get().await.json();
    assert_eq!(ic["allocated"][0]["allocated"], 100);
    assert_eq!(ic["export_licenses"].as_array().map(Vec::len), Some(2));
    // An export license answers neither field.
    let ex = r
        .get("/v1/licenses/US-DDTC/EXP-2", Some(&r.officer))
        .await
        .json();
    assert!(ex.get("allocated").is_none() && ex.get("export_licenses").is_none());
}

#[tokio::test]
async fn the_importing_states_delivery_verifications_show_as_delivered() {
    let r = Rig::new();
    r.foreign_documents();
    r.issue(&export("EXP-1")).await;
    let delivery = |number: &str, quantity: u64| {
        json!({"kind": "delivery", "number": number, "importing_country": "MX",
               "export_license": {"authority": "US-DDTC", "number": "EXP-1"},
               "delivered_to": {"name": "Policia Estatal"}, "date": day(-1),
               "items": [{"line": 1, "quantity": quantity}]})
    };
    r.ingest_foreign(MX, delivery("DV-1", 40));
    r.ingest_foreign(MX, delivery("DV-2", 5));
    let l = r
        .get("/v1/licenses/US-DDTC/EXP-1", Some(&r.officer))
        .await
        .json();
    assert_eq!(l["tally"][0]["delivered"], 45, "{l}");
    assert_eq!(l["tally"][1]["delivered"], 0, "{l}");
    let dv = r.get("/v1/licenses/MX-SEDENA/DV-1", Some(&r.officer)).await;
    assert_eq!(dv.status, StatusCode::OK, "{}", dv.text);
    assert_eq!(dv.json()["kind"], "delivery");
    assert_eq!(
        dv.json()["document"]["delivered_to"]["name"],
        "Policia Estatal"
    );
}
