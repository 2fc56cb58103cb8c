// upload.js: the Upload page (#/upload, issuer token): national records from
// a CSV or JSON-lines file, as `tally import` loads them (node/src/import,
// docs/IMPORT.md). The node reads the file (POST /v1/import/read, signing
// nothing) and the page lists the documents read and the rows that make
// none; "Check all" sends each document to POST /v1/licenses?if_exists=skip
// with dry_run=true, "Issue all" without it, one at a time, so the node
// decides what it issued before (skipped). A 429 waits the node's
// Retry-After (shown) and sends the same document again. Every refused row
// is listed with its faults placed in the file (CSV: row and column; JSON
// lines: line and JSON pointer), and downloads as CSV.

import { api, apiBytes } from './api.js';
import { h, field, errorBox, showError, clearError, fmt, tableWrap } from './dom.js';
import { licenseLink, ownAuthority, pageTitle } from './common.js';
import { refreshDraftCount } from './drafts-notice.js';

/** Longest wait a 429 may ask for before the run stops (as tally import). */
const MAX_WAIT_S = 300;

/** The format a file's name says: csv, or JSON lines (.jsonl, .json, .ndjson); null otherwise. */
export function formatOf(name) {
  const ext = String(name).toLowerCase().split('.').pop();
  if (ext === 'csv') return 'csv';
  return ['jsonl', 'json', 'ndjson'].includes(ext) ? 'jsonl' : null;
}

/**
 * Where the fault at `pointer` (RFC 6901, into the document that begins at
 * `row`) lies in the file, as tally import places it: in a CSV file an item
 * line's own row and the column (`/items/2/quantity` -> row + 2, quantity;
 * `/exporter/name` -> exporter.name; "" the document as a whole); in JSON
 * lines the line and the pointer.
 */
export function place(pointer, row, csv) {
  const p = String(pointer ?? '');
  if (!csv) return { row, column: p };
  const steps = p.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (steps[0] === 'items' && /^\d+$/.test(steps[1] ?? '')) return { row: row + Number(steps[1]), column: steps[2] ?? 'line' };
  return { row, column: steps.filter((s) => !/^\d+$/.test(s)).join('.') };
}

/** A CSV cell: quoted when it must be; text a spreadsheet would run as a formula gets a leading ' (as statistics.js). */
function cell(v) {
  let s = String(v ?? '');
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The refused rows as CSV: one line per fault (a row without placed faults: one line). */
function refusedCsv(refused, csv) {
  const head = ['row', 'number', 'code', 'message', csv ? 'fault_row' : 'fault_line', csv ? 'fault_column' : 'fault_pointer', 'fault_message'];
  const lines = [head];
  for (const r of refused) {
    const base = [r.row, r.number, r.code, r.message];
    if (!r.faults.length) lines.push([...base, '', '', '']);
    for (const f of r.faults) lines.push([...base, f.row, f.column, f.message]);
  }
  return lines.map((l) => l.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** Waits `s` seconds, calling tick(left) each second; false when stopped first. */
function wait(s, tick, stopped) {
  return new Promise((resolve) => {
    let left = s;
    tick(left);
    const timer = setInterval(() => {
      if (stopped()) { clearInterval(timer); resolve(false); return; }
      left -= 1;
      if (left <= 0) { clearInterval(timer); resolve(true); return; }
      tick(left);
    }, 1000);
  });
}

const KINDS = ['export', 'import', 'transit', 'delivery'];
const STATES = { pending: 'upload.statePending', issued: 'upload.stateIssued', checked: 'upload.stateChecked',
  skipped: 'upload.stateSkipped', refused: 'upload.stateRefused', draft: 'upload.stateDraft', unread: 'upload.stateUnread' };
const stateMark = (s) => h('span', { class: `upload-state state-${s}`, 'data-state': s, i18n: STATES[s] });

/** The documents read, and the rows that make none, each with its state in the run. */
function readTable(entries) {
  const rows = entries.map((e) => {
    const st = h('td', {}, stateMark(e.document ? 'pending' : 'unread'));
    e.stateCell = st;
    const d = e.document || {};
    return h('tr', { 'data-row': e.row, 'data-number': e.number ?? '' },
      h('th', { scope: 'row', text: String(e.row) }), h('td', { text: fmt(e.number) }),
      h('td', {}, KINDS.includes(d.kind) ? h('span', { i18n: `kind.${d.kind}` }) : fmt(d.kind)),
      h('td', { text: Array.isArray(d.items) ? String(d.items.length) : '—' }),
      st, h('td', { class: 'wrap', text: e.error ? String(e.error) : '' }));
  });
  return tableWrap(h('table', { id: 'upload-read' },
    h('caption', { i18n: 'upload.readCaption' }),
    h('thead', {}, h('tr', {}, ['upload.colRow', 'f.number', 'upload.colKind', 'upload.colLines', 'upload.colState', 'upload.colProblem']
      .map((k) => h('th', { scope: 'col', i18n: k })))),
    h('tbody', {}, rows)));
}

/** A refused row with every fault placed in the file. */
function refusedItem(r, csv) {
  return h('li', { class: 'refused-row', 'data-row': r.row, 'data-number': r.number ?? '', 'data-code': r.code },
    h('p', {}, h('strong', { i18n: [csv ? 'upload.refusedRow' : 'upload.refusedLine', { row: r.row, number: r.number ?? '—' }] }), ' ',
      h('code', { class: 'err-code', text: r.code }), ' ', h('span', { class: 'err-message', text: r.message })),
    r.faults.length ? h('ul', { class: 'faults' }, r.faults.map((f) => h('li', { class: 'fault', 'data-row': f.row, 'data-column': f.column },
      h('span', { class: 'fault-place', i18n: f.column
        ? [csv ? 'upload.faultAt' : 'upload.faultAtPointer', { row: f.row, column: f.column }]
        : [csv ? 'upload.faultDocument' : 'upload.faultDocumentLine', { row: f.row }] }), ' ',
      h('span', { class: 'fault-message', text: f.message })))) : null);
}

export function pageUpload(view) {
  const err = errorBox('upload-error');
  const input = h('input', { id: 'upload-file', type: 'file', accept: '.csv,.jsonl,.json,.ndjson,text/csv', 'aria-describedby': 'upload-file-hint' });
  const read = h('div', { id: 'upload-content' });
  const check = h('button', { type: 'button', id: 'upload-check', class: 'secondary', disabled: true, i18n: 'upload.checkAll' });
  const issue = h('button', { type: 'button', id: 'upload-issue', class: 'primary', disabled: true, i18n: 'upload.issueAll' });
  const stop = h('button', { type: 'button', id: 'upload-stop', class: 'secondary', hidden: true, i18n: 'upload.stop' });
  const bar = h('progress', { id: 'upload-progress', max: 1, value: 0, hidden: true, i18nAttr: { 'aria-label': 'upload.progressLabel' } });
  const progress = h('p', { id: 'upload-count', role: 'status' });
  const waiting = h('p', { id: 'upload-wait', class: 'alert warn', hidden: true, 'aria-live': 'polite' });
  const report = h('div', { id: 'upload-report' });
  let alive = true, running = false, stopped = false, file = null, urls = [];
  const free = () => { for (const u of urls.splice(0)) URL.revokeObjectURL(u); };

  input.addEventListener('change', async () => {
    clearError(err);
    read.replaceChildren(); report.replaceChildren(); progress.replaceChildren();
    bar.hidden = true;
    file = null;
    check.disabled = issue.disabled = true;
    const f = input.files && input.files[0];
    if (!f) return;
    const format = formatOf(f.name);
    if (!format) {
      err.hidden = false;
      err.replaceChildren(h('p', {}, h('strong', {}, '✘ ', h('span', { i18n: ['upload.badFormat', { file: f.name }] }))));
      return;
    }
    read.replaceChildren(h('p', { role: 'status', i18n: 'loading' }));
    try {
      const r = await apiBytes(`/v1/import/read?format=${format}`, await f.arrayBuffer());
      if (!alive) return;
      const entries = Array.isArray(r?.documents) ? r.documents : [];
      file = { name: f.name, csv: format === 'csv', entries };
      const docs = entries.filter((e) => e.document).length;
      read.replaceChildren(
        h('p', { id: 'upload-summary', i18n: ['upload.read', { file: f.name, documents: { num: docs }, rows: { num: entries.length - docs } }] }),
        entries.length ? readTable(entries) : h('p', { i18n: 'upload.empty' }));
      check.disabled = issue.disabled = docs === 0;
    } catch (ex) {
      if (!alive) return;
      read.replaceChildren();
      showError(err, ex);
    }
  });

  /** Sends one document until the node answers other than 429; the outcome. */
  async function send(e, dry, show) {
    const url = `/v1/licenses?if_exists=skip${dry ? '&dry_run=true' : ''}`;
    for (;;) {
      try {
        const r = await api('POST', url, e.document);
        if (r?.draft) return { state: 'draft' };
        if (r?.skipped) return { state: 'skipped' };
        return { state: dry ? 'checked' : 'issued', ref: !dry && r?.authority ? { authority: r.authority, number: r.number } : null };
      } catch (ex) {
        if (ex.status === 429) {
          const s = Math.max(1, ex.retryAfter || 1);
          if (s > MAX_WAIT_S) throw ex;
          waiting.hidden = false;
          const went = await wait(s, (left) => waiting.replaceChildren(h('span', { 'aria-hidden': 'true' }, '⏳ '),
            h('span', { i18n: ['upload.waiting', { seconds: { num: left }, row: e.row }] })), () => stopped || !alive);
          waiting.hidden = true;
          if (!went) return null;
          continue;
        }
        // The token, the node or the network: nothing more can be sent.
        if (ex.status === 0 || ex.status === 401 || ex.status === 403 || ex.status >= 500) throw ex;
        return { state: 'refused', code: ex.code, message: ex.message, details: ex.details || [] };
      } finally { show(); }
    }
  }

  async function run(dry) {
    if (!file || running) return;
    running = true; stopped = false;
    clearError(err);
    free();
    report.replaceChildren();
    check.disabled = issue.disabled = input.disabled = true;
    stop.hidden = false;
    const docs = file.entries;
    const totals = { issued: 0, skipped: 0, drafts: 0, refused: [] };
    const issued = [];
    let n = 0;
    const show = () => {
      bar.hidden = false; bar.max = Math.max(1, docs.length); bar.value = n;
      progress.replaceChildren(h('span', { i18n: [dry ? 'upload.progressDry' : 'upload.progress', {
        n: { num: n }, total: { num: docs.length }, issued: { num: totals.issued }, skipped: { num: totals.skipped },
        refused: { num: totals.refused.length }, drafts: { num: totals.drafts } }] }));
    };
    show();
    try {
      for (const e of docs) {
        if (stopped || !alive) break;
        let out;
        if (!e.document) out = { state: 'refused', code: 'invalid_row', message: String(e.error ?? ''), details: [] };
        else out = await send(e, dry, show);
        if (!out) break;
        n += 1;
        if (out.state === 'refused') {
          totals.refused.push({ row: e.row, number: e.number, code: out.code, message: out.message,
            faults: out.details.map((d) => ({ ...place(d.pointer, e.row, file.csv), message: String(d.message ?? '') })) });
        } else if (out.state === 'skipped') totals.skipped += 1;
        else if (out.state === 'draft') totals.drafts += 1;
        else totals.issued += 1;
        if (out.ref) issued.push(out.ref);
        e.stateCell?.replaceChildren(stateMark(out.state === 'refused' && !e.document ? 'unread' : out.state));
        show();
      }
    } catch (ex) {
      if (alive) showError(err, ex);
    } finally {
      running = false;
      stop.hidden = true;
      waiting.hidden = true;
      check.disabled = issue.disabled = input.disabled = false;
    }
    if (!alive) return;
    if (totals.drafts) refreshDraftCount();
    report.replaceChildren(...renderReport(totals, issued, dry, n === docs.length));
  }

  function renderReport(totals, issued, dry, whole) {
    const out = [h('p', { id: 'upload-done', class: totals.refused.length ? '' : 'ok-text', 'data-complete': whole ? 'true' : 'false',
      i18n: whole ? (dry ? 'upload.doneDry' : 'upload.done') : 'upload.stopped' })];
    if (totals.drafts) out.push(h('p', { class: 'alert warn', i18n: ['upload.drafts', { n: { num: totals.drafts } }] }));
    if (totals.refused.length) {
      const url = URL.createObjectURL(new Blob([refusedCsv(totals.refused, file.csv)], { type: 'text/csv;charset=utf-8' }));
      urls.push(url);
      const base = file.name.replace(/\.[^.]*$/, '') || 'upload';
      out.push(h('section', { id: 'upload-refused', 'aria-labelledby': 'upload-refused-title' },
        h('h2', { id: 'upload-refused-title', i18n: ['upload.refusedTitle', { n: { num: totals.refused.length } }] }),
        h('ul', { id: 'upload-refused-list', class: 'refused' }, totals.refused.map((r) => refusedItem(r, file.csv))),
        h('p', { class: 'download' }, h('a', { id: 'upload-refused-csv', href: url, download: `${base}-refused.csv`, i18n: 'upload.downloadRefused' }))));
    }
    if (issued.length) {
      out.push(h('section', { id: 'upload-issued', 'aria-labelledby': 'upload-issued-title' },
        h('h2', { id: 'upload-issued-title', i18n: ['upload.issuedTitle', { n: { num: issued.length } }] }),
        h('ul', {}, issued.map((ref) => h('li', {}, licenseLink(ref))))));
    }
    return out;
  }

  check.addEventListener('click', () => run(true));
  issue.addEventListener('click', () => run(false));
  stop.addEventListener('click', () => { stopped = true; });
  view.append(pageTitle('upload.title'),
    h('p', { class: 'hint', i18n: ['upload.hint', { authority: ownAuthority() || '—' }] }),
    h('form', { id: 'upload-form', class: 'card', on: { submit: (e) => e.preventDefault() } },
      field('upload.file', input),
      h('p', { class: 'hint', id: 'upload-file-hint', i18n: 'upload.fileHint' }),
      h('div', { class: 'buttons' }, check, issue, stop)),
    err, read, bar, progress, waiting, report);
  return () => { alive = false; stopped = true; free(); };
}
