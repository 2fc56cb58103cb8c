// drafts.js: the Drafts page (#/drafts, issuer token): with `[issue]
// approvals = 2` the node keeps each write as a draft until another person
// approves it (GET /v1/drafts, POST /v1/drafts/{id}/approve | reject;
// docs/API.md "A second pair of eyes"). Each draft shows what it would sign,
// readable (parties, route, validity, lines; or the status and its reason),
// who prepared it and when, with Approve and Reject (the reason asked in the
// page). Approving answers what the direct write would (201/200) or its
// error: a 403 when the approver is the person who prepared it.

import { api, seg } from './api.js';
import { h, field, errorBox, showError, clearError, dl, fmt, loc, table } from './dom.js';
import { licenseLink, pageTitle, raisedAt, licenseHref } from './common.js';
import { refreshDraftCount } from './drafts-notice.js';
import { person } from './license.js';
import { t } from './i18n.js';

/** A label for an API value (`cat.firearm`) when the console has one, else the value as text. */
const label = (prefix, v) => (v && t(`${prefix}.${v}`) !== `${prefix}.${v}` ? h('span', { i18n: `${prefix}.${v}` }) : fmt(v));
const ACTIONS = { issue: 'drafts.actionIssue', amend: 'drafts.actionAmend', status: 'drafts.actionStatus' };
const day = (s) => (s ? { date: s } : '?');
const countries = (v) => (Array.isArray(v) ? (v.length ? loc(v.map((c) => ({ country: c }))) : null) : loc(v && { country: v }));

function party(p) {
  if (!p || typeof p !== 'object') return p ? fmt(p) : null;
  return h('span', {}, h('strong', { text: p.name ?? '' }), p.id ? h('span', { class: 'sub', text: ` (${p.id})` }) : null);
}

/** The document a draft would sign, readable: parties, route, validity, lines. */
function documentView(d, n) {
  if (!d || typeof d !== 'object') return null;
  const items = Array.isArray(d.items) ? d.items : [];
  return [
    dl([
      ['party.exporter', party(d.exporter)], ['party.importer', party(d.importer)], ['party.end_user', party(d.end_user)],
      ['party.delivered_to', party(d.delivered_to)],
      ['c.export', countries(d.exporting_country)], ['c.import', countries(d.importing_country)],
      ['c.transits', countries(d.transit_countries)], ['c.transit', countries(d.transit_country)],
      ['lic.exportLicense', d.export_license && licenseLink(d.export_license)],
      ['lic.importCert', d.import_certificate && licenseLink(d.import_certificate)],
      ['lic.entryPoint', d.entry_point], ['lic.exitPoint', d.exit_point],
      ['lic.validity', d.valid_from || d.valid_until
        ? h('span', { i18n: ['lic.validRange', { from: day(d.valid_from), until: day(d.valid_until) }] }) : null],
      ['people.migrated', d.migrated ? h('span', { i18n: ['people.migratedOn', { date: day(d.original_issue_date) }] }) : null],
    ]),
    items.length ? table({
      id: `draft-${n}-lines`, caption: 'drafts.lines', rows: items, cols: [
        ['col.line', (i) => fmt(i.line)], ['col.category', (i) => label('cat', i.category)],
        ['col.description', (i) => fmt([i.description, i.make, i.model, i.caliber].filter(Boolean).join(' · ') || null)],
        ['col.quantity', (i) => (i.quantity === undefined ? '—' : [loc({ num: i.quantity }), ' ', label('unit', i.unit)])],
        ['col.serials', (i) => h('span', { class: 'serials' }, fmt(i.serials))],
      ],
    }) : null,
  ];
}

/** What a draft asks: issue or amend a document, or change a status. */
function what(d, n) {
  if (d.action === 'status') {
    return dl([['lic.status', label('status', d.status)], ['col.reason', d.reason || null]]);
  }
  return documentView(d.document, n);
}

function draftCard(d, n, onGone) {
  const err = errorBox(`draft-${n}-error`);
  const result = h('div', { class: 'draft-result', role: 'status' });
  const reason = h('input', { id: `draft-${n}-reason`, required: true, maxlength: 2000, autocomplete: 'off' });
  const ask = h('div', { class: 'draft-reject', hidden: true },
    field('drafts.reason', reason, 'drafts.reasonHint'),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', class: 'danger draft-reject-confirm', i18n: 'drafts.rejectConfirm' }),
      h('button', { type: 'button', class: 'secondary draft-reject-cancel', i18n: 'st.cancel' })));
  const approve = h('button', { type: 'button', class: 'primary draft-approve', i18n: 'drafts.approve' });
  const reject = h('button', { type: 'button', class: 'danger draft-reject-open', i18n: 'drafts.reject' });
  const buttons = h('div', { class: 'buttons' }, approve, reject);
  const form = h('form', { class: 'draft-actions' }, buttons, ask);
  const busy = (on) => { for (const b of form.querySelectorAll('button')) b.disabled = on; };
  const done = (kids) => { form.remove(); result.replaceChildren(...kids); onGone(); };

  approve.addEventListener('click', async () => {
    clearError(err);
    busy(true);
    try {
      const r = await api('POST', `/v1/drafts/${seg(d.id)}/approve`);
      const a = r?.authority || d.authority, num = r?.number || d.number;
      done([h('p', { class: 'ok-text' }, '✔ ', h('span', { i18n: ['drafts.approved', { authority: a, number: num, seq: r?.entry?.seq ?? '—' }] })),
        a && num ? h('a', { href: licenseHref(a, num), class: 'draft-license', i18n: 'issue.open' }) : null]);
    } catch (ex) {
      busy(false);
      showError(err, ex);
      if (ex.status === 403) err.append(h('p', { class: 'draft-same-person' }, h('strong', { i18n: 'drafts.samePerson' })));
    }
  });
  reject.addEventListener('click', () => { ask.hidden = false; buttons.hidden = true; reason.focus(); });
  form.querySelector('.draft-reject-cancel').addEventListener('click', () => { ask.hidden = true; buttons.hidden = false; reject.focus(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(err);
    if (!reason.value.trim()) { reason.reportValidity(); return; }
    busy(true);
    try {
      await api('POST', `/v1/drafts/${seg(d.id)}/reject`, { reason: reason.value.trim() });
      done([h('p', { class: 'ok-text' }, '✔ ', h('span', { i18n: 'drafts.rejected' }))]);
    } catch (ex) { busy(false); showError(err, ex); }
  });

  const kind = d.document?.kind;
  const head = h('h2', { id: `draft-${n}-title` },
    h('span', { i18n: ACTIONS[d.action] || 'drafts.actionIssue' }), ' ',
    kind ? [h('span', { i18n: `kind.${kind}` }), ' '] : null,
    h('span', { class: 'draft-subject', text: `${d.authority ?? ''} ${d.number ?? ''}`.trim() }));
  return h('article', { class: 'card draft', 'data-draft': d.id, 'data-action': d.action, 'aria-labelledby': `draft-${n}-title` },
    head,
    dl([['drafts.preparedBy', person(d.prepared_by)],
      ['drafts.created', Number.isFinite(d.created_at_ms) ? raisedAt(new Date(d.created_at_ms).toISOString()) : null],
      ['drafts.id', h('code', { text: d.id })]]),
    what(d, n), form, err, result);
}

export function pageDrafts(view) {
  const err = errorBox('drafts-error');
  const status = h('p', { id: 'drafts-status', class: 'hint', role: 'status' });
  const list = h('div', { id: 'drafts-list' });
  const refresh = h('button', { type: 'button', id: 'drafts-refresh', class: 'secondary', i18n: 'drafts.refresh' });
  let alive = true, gen = 0, waiting = 0;
  const count = () => status.replaceChildren(h('span', { i18n: ['drafts.waiting', { n: { num: waiting } }] }));
  async function load() {
    const mine = ++gen;
    clearError(err);
    list.replaceChildren(h('p', { i18n: 'loading' }));
    try {
      const r = await api('GET', '/v1/drafts');
      if (!alive || mine !== gen) return;
      const drafts = Array.isArray(r?.drafts) ? r.drafts : [];
      waiting = drafts.length;
      count();
      const kids = [];
      if (r?.approvals === 1) kids.push(h('p', { id: 'drafts-one', class: 'hint', i18n: 'drafts.oneApproval' }));
      if (!drafts.length) kids.push(h('p', { id: 'drafts-none', i18n: 'drafts.none' }));
      drafts.forEach((d, n) => kids.push(draftCard(d, n, () => { waiting = Math.max(0, waiting - 1); count(); refreshDraftCount(); })));
      list.replaceChildren(...kids);
    } catch (ex) {
      if (!alive || mine !== gen) return;
      list.replaceChildren();
      showError(err, ex);
      if (ex.status === 403) err.append(h('p', { id: 'drafts-forbidden', i18n: 'drafts.forbidden' }));
    }
    refreshDraftCount();
  }
  refresh.addEventListener('click', load);
  view.append(pageTitle('drafts.title'), h('p', { class: 'hint', i18n: 'drafts.hint' }), refresh, status, err, list);
  load();
  return () => { alive = false; };
}
