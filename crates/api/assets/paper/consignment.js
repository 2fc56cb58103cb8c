// consignment.js: the export license, import certificate and transit
// authorizations of one consignment, scanned in turn, and how their
// references agree: the export license cites the import certificate, each
// transit authorization cites the export license, the countries and the
// parties' names match. Each check is {id, ok, args}: ok true or false, and
// only the checks whose two documents were both scanned are made.
//
// Annex pages (each one part of one line's serials, with its own seal)
// join the consignment of their document. Once a document and annex pages
// of one of its lines are held, the parts' counts are added up and
// compared with the line's count on the document's seal: ok is null while
// parts are still to scan. Only counts are compared: the line's digest on
// the main seal is over all its serials, and cannot be recomputed from the
// parts' digests.

/** The most transit authorizations kept for one consignment. */
const MAX_TRANSIT = 4;
/** The most annex pages kept for one consignment (a page is one part of one line). */
const MAX_ANNEXES = 256;

const ref = (s) => ({ authority: s.authority, number: s.number });
const same = (a, b) => a && b && a.authority === b.authority && a.number === b.number;
const name = (p) => String(p?.name ?? '').normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
const label = (r) => (r ? `${r.authority} ${r.number}` : '—');

export class Consignment {
  constructor() { this.clear(); }

  clear() {
    this.export = null;
    this.import = null;
    this.transit = [];
    this.annexes = [];
  }

  /** How many documents and annex pages it holds. */
  get size() { return (this.export ? 1 : 0) + (this.import ? 1 : 0) + this.transit.length + this.annexes.length; }

  /** Every document it holds, export first: {summary, verdict, status}. */
  get documents() { return [this.export, this.import, ...this.transit].filter(Boolean); }

  /**
   * Adds a scanned document (its answers too). A document that cites none
   * held and is cited by none starts a new consignment.
   */
  add(doc) {
    const s = doc.summary;
    if (this.size && !this.related(s)) this.clear();
    if (doc.annex) {
      const key = (d) => `${d.summary.version}/${d.annex.line}/${d.annex.part}`;
      const others = this.annexes.filter((d) => !(same(ref(d.summary), ref(s)) && key(d) === key(doc)));
      this.annexes = [...others, doc].slice(-MAX_ANNEXES);
      return;
    }
    if (s.kind === 'export') this.export = doc;
    else if (s.kind === 'import') this.import = doc;
    else if (s.kind === 'transit') {
      this.transit = [doc, ...this.transit.filter((t) => !same(ref(t.summary), ref(s)))].slice(0, MAX_TRANSIT);
    }
  }

  related(s) {
    const held = [...this.documents, ...this.annexes].map((d) => d.summary);
    return held.some((h) => same(ref(h), ref(s)) || same(h.linked, ref(s)) || same(s.linked, ref(h))
      || (h.kind === 'transit' && s.kind === 'transit' && same(h.linked, s.linked)));
  }

  /** The cross-checks of what is held. */
  checks() {
    const out = [];
    const e = this.export?.summary;
    const i = this.import?.summary;
    if (e && i) {
      out.push({ id: 'export_cites_import', ok: same(e.linked, ref(i)), args: { cited: label(e.linked), scanned: label(ref(i)) } });
      const route = e.route ?? [];
      out.push({
        id: 'countries',
        ok: i.route[0] === route[0] && i.route[i.route.length - 1] === route[route.length - 1],
        args: { export: route.join(' → '), import: i.route.join(' → ') },
      });
      for (const p of ['exporter', 'importer']) {
        if (e[p] && i[p]) out.push({ id: `same_${p}`, ok: name(e[p]) === name(i[p]), args: { export: e[p].name, import: i[p].name } });
      }
    }
    for (const t of this.transit.map((x) => x.summary)) {
      if (!e) continue;
      out.push({ id: 'transit_cites_export', ok: same(t.linked, ref(e)), args: { cited: label(t.linked), scanned: label(ref(e)), transit: label(ref(t)) } });
      const via = (e.route ?? []).slice(1, -1);
      out.push({ id: 'transit_on_route', ok: via.includes(t.route[0]), args: { country: t.route[0] ?? '—', transit: label(ref(t)) } });
    }
    return out.concat(this.annexChecks());
  }

  /**
   * For each held document and each of its lines with annex pages held:
   * the parts' counts against the line's count (one check a line).
   */
  annexChecks() {
    const out = [];
    for (const d of this.documents.map((x) => x.summary)) {
      const mine = this.annexes.filter((x) => same(ref(x.summary), ref(d)));
      const lines = [...new Set(mine.map((x) => x.annex.line))].sort((a, b) => a - b);
      for (const line of lines) {
        const parts = mine.filter((x) => x.annex.line === line);
        const main = d.lines.find((l) => l.line === line);
        const of = Math.max(...parts.map((x) => x.annex.parts));
        const sum = parts.reduce((n, x) => n + x.annex.count, 0n);
        const args = { line: String(line), have: { num: parts.length }, parts: { num: of }, sum: { num: String(sum) }, count: main ? { num: String(main.serial_count) } : '—' };
        let ok = null;
        if (!main || parts.some((x) => x.summary.version !== d.version || x.annex.parts !== of)) ok = false;
        else if (parts.length === of) ok = sum === main.serial_count;
        else if (sum > main.serial_count) ok = false;
        out.push({ id: 'annex_counts', ok, args, line });
      }
    }
    return out;
  }
}
