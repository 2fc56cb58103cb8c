//! The printable page of a sealed document: what an officer expects on
//! paper (the document, its lines and serials, who prepared and signed it)
//! and the QR seal, whose summary is a subset of it; then the annex pages,
//! each a sheet of its own with one part of one line's serials and its
//! own seal, when the serials do not fit the main page. Plain HTML under the
//! console's CSP: no script, styles from `/assets/paper.css`, the QR code
//! as inline SVG. Every text is escaped: a document's parties come from
//! people outside this node.

use crate::paper::Print;
use std::fmt::Write as _;
use tally_model::{Item, License, Party, Person};

/// `text` for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn row(out: &mut String, label: &str, value: &str) {
    if !value.is_empty() {
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(label),
            escape(value)
        );
    }
}

fn party(p: &Party) -> String {
    match &p.id {
        Some(id) => format!("{} ({id})", p.name),
        None => p.name.clone(),
    }
}

fn person(p: &Option<Person>) -> String {
    match p {
        Some(Person {
            name,
            title: Some(t),
        }) => format!("{name}, {t}"),
        Some(Person { name, title: None }) => name.clone(),
        None => String::new(),
    }
}

/// Where each annexed line's serials are: (line, first annex page, last).
type Placed = Vec<(u32, usize, usize)>;

fn placed(p: &Print) -> Placed {
    let mut out: Placed = Vec::new();
    for (page, (part, _)) in p.annexes.iter().enumerate() {
        let n = page + 1;
        match out.iter_mut().find(|(l, _, _)| *l == part.annex.line) {
            Some(slot) => slot.2 = n,
            None => out.push((part.annex.line, n, n)),
        }
    }
    out
}

fn lines(out: &mut String, items: &[Item], placed: &Placed) {
    if items.is_empty() {
        return;
    }
    out.push_str("<h2>Items</h2><table class=\"lines\"><thead><tr><th>Line</th><th>Category</th><th>HS</th><th>Description</th><th>Make</th><th>Model</th><th>Caliber</th><th>Quantity</th></tr></thead><tbody>");
    for it in items {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td></tr>",
            it.line,
            tally_model::linkage::category_name(it.category),
            escape(it.hs_code.as_deref().unwrap_or("")),
            escape(&it.description),
            escape(it.make.as_deref().unwrap_or("")),
            escape(it.model.as_deref().unwrap_or("")),
            escape(it.caliber.as_deref().unwrap_or("")),
            it.quantity,
            tally_model::linkage::unit_name(it.unit),
        );
    }
    out.push_str("</tbody></table>");
    for it in items.iter().filter(|it| !it.serials.is_empty()) {
        let _ = write!(
            out,
            "<h3>Serial numbers, line {} ({})</h3>",
            it.line,
            it.serials.len()
        );
        match placed.iter().find(|(l, _, _)| *l == it.line) {
            Some((_, k, m)) if k == m => {
                let _ = write!(out, "<p class=\"annexed\">On annex page {k}.</p>");
            }
            Some((_, k, m)) => {
                let _ = write!(out, "<p class=\"annexed\">On annex pages {k} to {m}.</p>");
            }
            None => {
                let _ = write!(
                    out,
                    "<p class=\"serials\">{}</p>",
                    escape(&it.serials.join(" · "))
                );
            }
        }
    }
}

/// A seal's QR code, what it holds (`how`, already HTML) and its text.
fn seal_section(out: &mut String, text: &str, how: &str) {
    let qr = tally_verify::paper::qr(text).map(|q| q.svg(60));
    let _ = write!(
        out,
        "<section class=\"seal\"><h2>Seal</h2>{}<p class=\"how\">{how}</p><p class=\"text\">{}</p></section>",
        qr.unwrap_or_else(|e| format!("<p>{}</p>", escape(&e.0))),
        escape(text),
    );
}

/// The annex pages: each one sheet with one part of one line's serials
/// (normalized and sorted, as its seal's digest covers them) and its seal.
fn annex_pages(out: &mut String, p: &Print, title: &str) {
    let total = p.annexes.len();
    // Serials are numbered through their line: part 2 starts at 201.
    let mut before = 0u64;
    for (page, (part, sealed)) in p.annexes.iter().enumerate() {
        let a = &part.annex;
        if a.part == 1 {
            before = 0;
        }
        let _ = write!(
            out,
            "<article class=\"annex\" id=\"annex-{n}\"><header><h1>Annex {n} of {total}: {t}</h1><p class=\"status\">Line {line}, part {part} of {parts}: {count} serial numbers, {first} to {last}, in sorted order (capitals, no spaces or dashes).</p></header><ol class=\"serial-grid\" start=\"{start}\">",
            n = page + 1,
            t = escape(title),
            line = a.line,
            part = a.part,
            parts = a.parts,
            count = a.count,
            first = escape(&a.first),
            last = escape(&a.last),
            start = before + 1,
        );
        before += a.count;
        for serial in &part.serials {
            let _ = write!(out, "<li>{}</li>", escape(serial));
        }
        out.push_str("</ol>");
        let how = format!(
            "Scan with the offline verifier: this annex's own seal holds line {}'s part {} of {} (its first and last serial, count and digest), signed by {}. The counts of a line's parts add up to the count the main page's seal gives.",
            a.line,
            a.part,
            a.parts,
            escape(&p.summary.authority)
        );
        seal_section(out, &sealed.text, &how);
        out.push_str("</article>");
    }
}

fn parties(out: &mut String, license: &License) {
    match license {
        License::Export(e) => {
            row(out, "Exporter", &party(&e.exporter));
            row(out, "Importer", &party(&e.importer));
            if let Some(u) = &e.end_user {
                row(out, "End user", &party(u));
            }
            let carriers: Vec<String> = e.carriers.iter().map(party).collect();
            row(out, "Carriers", &carriers.join("; "));
            if let Some(ic) = &e.import_certificate {
                row(
                    out,
                    "Import certificate",
                    &format!("{} of {}", ic.number, ic.authority),
                );
            }
            if let Some(c) = &e.end_user_certificate {
                row(
                    out,
                    "End-user certificate",
                    &format!("{} of {}, issued by {}", c.number, c.date, c.issued_by),
                );
            }
            row(
                out,
                "Place of issue",
                e.place_of_issue.as_deref().unwrap_or(""),
            );
        }
        License::Import(c) => {
            row(out, "Importer", &party(&c.importer));
            row(out, "Exporter", &party(&c.exporter));
            if let Some(u) = &c.end_user {
                row(out, "End user", &party(u));
            }
        }
        License::Transit(t) => {
            row(
                out,
                "Export license",
                &format!(
                    "{} of {}",
                    t.export_license.number, t.export_license.authority
                ),
            );
            row(out, "Entry point", t.entry_point.as_deref().unwrap_or(""));
            row(out, "Exit point", t.exit_point.as_deref().unwrap_or(""));
        }
        License::Delivery(_)
        | License::Denial(_)
        | License::EnduseRequest(_)
        | License::EnduseAnswer(_) => {}
    }
}

/// The whole page.
pub fn page(p: &Print) -> String {
    let s = &p.summary;
    let doc = &p.state.document;
    let title = format!(
        "{} {} of {}, version {}",
        kind_title(&s.kind),
        s.number,
        s.authority,
        s.version
    );
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><link rel=\"stylesheet\" href=\"/assets/paper.css\"></head><body><main><header><h1>{t}</h1><p class=\"status\">Status when printed: {status}</p></header><table class=\"fields\">",
        t = escape(&title),
        status = p.state.status.as_str(),
    );
    row(&mut out, "Issued on", &s.issued_on);
    let (migrated, _) = doc.migration();
    if migrated {
        row(
            &mut out,
            "Migrated record",
            "issued before this authority ran Tally",
        );
    }
    row(
        &mut out,
        "Valid",
        &format!("{} to {}", s.valid_from, s.valid_until),
    );
    row(&mut out, "Route", &s.route.join(" → "));
    parties(&mut out, doc);
    let people = doc.attribution();
    row(&mut out, "Prepared by", &person(&people.prepared_by));
    row(&mut out, "Signed by", &person(&people.signatory));
    out.push_str("</table>");
    lines(&mut out, doc.items(), &placed(p));
    let how = format!(
        "Scan with the offline verifier of any partner authority (its /paper/ page). The seal holds a summary of this page, signed by {}; printed at {} (UTC seconds {}).",
        escape(&s.authority),
        escape(&crate::view::rfc3339(p.times.printed_at * 1000)),
        p.times.printed_at,
    );
    seal_section(&mut out, &p.sealed.text, &how);
    out.push_str("</main>");
    annex_pages(&mut out, p, &title);
    out.push_str("</body></html>");
    out
}

fn kind_title(kind: &str) -> &'static str {
    match kind {
        "export" => "Export license",
        "import" => "Import certificate",
        "transit" => "Transit authorization",
        _ => "Document",
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn text_from_outside_cannot_become_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
