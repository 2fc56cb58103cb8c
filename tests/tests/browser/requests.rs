//! The importing officer's work list, in Spanish: US-DDTC asks Mexico
//! (through its API) whether an end-user certificate is genuine; on the
//! MX-SEDENA console, signed in as an issuer in Spanish, the Requests page
//! lists the request with what to confirm; the officer answers
//! "Confirmado" with a comment, the answer is signed, the request leaves
//! the list, and the United States' node holds the answer on the request's
//! page. axe-core finds no serious or critical violation on the page. With
//! `TALLY_SCREENSHOTS`, saves requests-es.png there.

use super::{Browser, Network, Seeded, WAIT, until};
use anyhow::{Result, bail};
use serde_json::{Value, json};
use std::path::Path;

const REQUEST: &str = "EUR-2026-0077";

pub(crate) async fn requests_flow(
    b: &Browser,
    net: &Network,
    seeded: &Seeded,
    shots: &Path,
) -> Result<()> {
    let (us, mx) = (&net.nodes[0], &net.nodes[1]);
    net.issue(
        us,
        json!({"kind": "enduse_request", "number": REQUEST,
            "exporting_country": "US", "importing_country": "MX", "export_license": "EXP-2026-0777",
            "end_user_certificate": {"number": "EUC-2026-777", "date": "2026-11-02",
                                     "issued_by": "Secretaría de la Defensa Nacional"},
            "end_user": {"name": "Policía Estatal de Nuevo León"}, "date": super::day(-3)}),
    )
    .await?;
    net.held(mx, "US-DDTC", REQUEST).await?;

    // ---- in Spanish, as MX-SEDENA's issuer
    b.goto(&format!("{}/", mx.url)).await?;
    if let Some(out) = b.find("#signout").await?
        && b.cmd("GET", &format!("/element/{out}/displayed"), None)
            .await?
            == json!(true)
    {
        b.click(&out).await?;
    }
    b.click_fresh("#lang option[value=\"es-MX\"]").await?;
    b.until("the console in Spanish", || async {
        let lang = b
            .execute("return document.documentElement.lang", json!([]))
            .await?;
        Ok((lang == json!("es-MX")).then_some(()))
    })
    .await?;
    b.type_into(&b.wait_displayed("#token").await?, &seeded.mx_issuer)
        .await?;
    b.click(&b.find_required("#signin").await?).await?;
    b.click(&b.wait_displayed("#nav-requests").await?).await?;
    let card = format!("article.enduse-request[data-request=\"US-DDTC/{REQUEST}\"]");
    let el = b.wait_for(&card).await?;
    let text = b.text(&el).await?;
    for want in [
        "EUC-2026-777",
        "Secretaría de la Defensa Nacional",
        "EXP-2026-0777",
        "Solicitado por",
    ] {
        if !text.contains(want) {
            bail!("the request on the Requests page does not show {want:?}: {text}");
        }
    }
    let title = b.text(&b.find_required("#page-title").await?).await?;
    if title != "Solicitudes de uso final por responder" {
        bail!("the Requests page's title is {title:?}");
    }
    let violations = b.axe("#/requests (es)").await?;
    if !violations.is_empty() {
        bail!("axe-core on the Requests page:\n{}", violations.join("\n"));
    }

    // ---- the answer: confirmed, with a comment
    b.click(
        &b.find_required(&format!(
            "{card} .answer-choice option[value=\"confirmed\"]"
        ))
        .await?,
    )
    .await?;
    b.fill(
        &format!("{card} .answer-comment"),
        "Emitido por la DCAM en la fecha indicada",
    )
    .await?;
    b.click(&b.find_required(&format!("{card} .answer-submit")).await?)
        .await?;
    let answer = format!("RES-US-DDTC-{REQUEST}");
    b.until("the answer signed and the request gone", || async {
        let status = b.text(&b.find_required("#requests-status").await?).await?;
        let gone = b.find(&card).await?.is_none();
        Ok(
            (gone && status.contains(&format!("Respuesta {answer} a {REQUEST} firmada")))
                .then_some(()),
        )
    })
    .await?;
    b.screenshot(&shots.join("requests-es.png")).await?;

    // ---- the United States holds it, on the request's page
    let path = format!("/v1/licenses/US-DDTC/{REQUEST}");
    until("US-DDTC to hold Mexico's answer", WAIT, || async {
        let (code, lic) = net.call(us, "GET", &path, None).await?;
        let answers = lic["answers"].as_array().cloned().unwrap_or_default();
        Ok((code == 200
            && answers.len() == 1
            && answers[0]["answer"] == json!("confirmed")
            && answers[0]["number"] == Value::String(answer.clone()))
        .then_some(()))
    })
    .await?;
    // Back to English for the flows after this one.
    b.click_fresh("#lang option[value=\"en\"]").await?;
    Ok(())
}
