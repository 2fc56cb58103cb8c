//! A second pair of eyes (`[issue] approvals = 2`): a write becomes a
//! draft, another person's issuer token approves it and only then is it
//! signed, naming who prepared it and who signed it.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::json;
use tally_api::Role;
use tally_api::drafts::Drafts;

#[tokio::test]
async fn a_second_person_approves_what_the_first_prepared() {
    let r = Rig::new();
    r.foreign_documents();
    let kept = r.dir.path().join("drafts");
    let r = r.with_approvals(2, Drafts::open(&kept).expect("drafts"));
    let ana = r.named_token(Role::Issuer, "desk 1", "Ana Ruiz", "Licensing officer");
    let juan = r.named_token(Role::Issuer, "desk 2", "Juan Pérez", "Director");
    let (ana, juan, o) = (
        Some(ana.as_str()),
        Some(juan.as_str()),
        Some(r.officer.as_str()),
    );
    let before = r.heads().await;

    // A faulty document is refused at once, as without approvals: no draft.
    let mut bad = export("EXP-1");
    bad["items"][0]["quantity"] = json!(0);
    let a = r.post("/v1/licenses", ana, &bad).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);

    // A good one waits: 202, nothing signed, nothing readable yet.
    let a = r.post("/v1/licenses", ana, &export("EXP-1")).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text);
    assert_eq!(a.json()["awaiting"], "approval");
    let id = a.json()["draft"].as_str().expect("draft id").to_string();
    assert_eq!(r.heads().await, before, "a draft signs nothing");
    let missing = r.get("/v1/licenses/US-DDTC/EXP-1", o).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let list = r.get("/v1/drafts", ana).await.json();
    assert_eq!(list["approvals"], 2);
    assert_eq!(list["drafts"][0]["id"], id.as_str());
    assert_eq!(list["drafts"][0]["action"], "issue");
    assert_eq!(list["drafts"][0]["number"], "EXP-1");
    assert_eq!(list["drafts"][0]["prepared_by"]["name"], "Ana Ruiz");
    assert!(list["drafts"][0].get("preparer_token").is_none());

    // Acknowledged means kept: the draft is on disk.
    assert_eq!(Drafts::open(&kept).expect("reopens").list().len(), 1);

    // Not by the one who prepared it; an officer cannot approve at all.
    let own = r
        .post(&format!("/v1/drafts/{id}/approve"), ana, &json!({}))
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.text);
    let officer = r
        .post(&format!("/v1/drafts/{id}/approve"), o, &json!({}))
        .await;
    assert_eq!(officer.status, StatusCode::FORBIDDEN);
    assert_eq!(r.heads().await, before);

    // Another person approves: the answer the direct call gives.
    let a = r
        .post(&format!("/v1/drafts/{id}/approve"), juan, &json!({}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json()["number"], "EXP-1");
    assert_eq!(a.json()["entry"]["seq"], 1);
    let doc = r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json()["document"].clone();
    assert_eq!(
        doc["prepared_by"],
        json!({"name": "Ana Ruiz", "title": "Licensing officer"})
    );
    assert_eq!(
        doc["signatory"],
        json!({"name": "Juan Pérez", "title": "Director"})
    );
    assert!(
        r.get("/v1/drafts", juan).await.json()["drafts"]
            .as_array()
            .expect("list")
            .is_empty()
    );
    assert!(Drafts::open(&kept).expect("reopens").list().is_empty());
    let twice = r
        .post(&format!("/v1/drafts/{id}/approve"), juan, &json!({}))
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);

    // A status change waits too, and a rejection drops it with a reason.
    let body = json!({"status": "suspended", "reason": "inquiry"});
    let a = r
        .post("/v1/licenses/US-DDTC/EXP-1/status", juan, &body)
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text);
    let id = a.json()["draft"].as_str().expect("draft").to_string();
    let no_reason = r
        .post(
            &format!("/v1/drafts/{id}/reject"),
            ana,
            &json!({"reason": " "}),
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    let a = r
        .post(
            &format!("/v1/drafts/{id}/reject"),
            ana,
            &json!({"reason": "not yet"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["rejected"], true);
    let l = r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json();
    assert_eq!(l["status"], "active", "a rejected draft changes nothing");

    // An amendment: prepared by Juan, approved by Ana.
    let mut lower = export("EXP-1");
    lower["items"][0]["quantity"] = json!(90);
    let a = r
        .post("/v1/licenses/US-DDTC/EXP-1/amend", juan, &lower)
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text);
    let id = a.json()["draft"].as_str().expect("draft").to_string();
    let a = r
        .post(&format!("/v1/drafts/{id}/approve"), ana, &json!({}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["version"], 2);
    let doc = r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json()["document"].clone();
    assert_eq!(doc["prepared_by"]["name"], "Juan Pérez");
    assert_eq!(doc["signatory"]["name"], "Ana Ruiz");

    // A dry run answers at once, as without approvals.
    let a = r
        .post("/v1/licenses?dry_run=true", ana, &export("EXP-2"))
        .await;
    assert_ne!(a.status, StatusCode::ACCEPTED, "{}", a.text);
    assert!(
        r.get("/v1/drafts", ana).await.json()["drafts"]
            .as_array()
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn the_body_cannot_name_who_signed() {
    let r = Rig::new();
    r.foreign_documents();
    let ana = r.named_token(Role::Issuer, "desk 1", "Ana Ruiz", "Licensing officer");
    let mut doc = export("EXP-1");
    doc["signatory"] = json!({"name": "The Minister"});
    let a = r.post("/v1/licenses", Some(&ana), &doc).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let got = r
        .get("/v1/licenses/US-DDTC/EXP-1", Some(&r.officer))
        .await
        .json();
    assert_eq!(got["document"]["signatory"]["name"], "Ana Ruiz");
    assert_eq!(got["document"]["prepared_by"]["name"], "Ana Ruiz");
}
