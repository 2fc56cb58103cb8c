// license.js: the License page (#/license/AUTH/NUMBER) and the license view the
// check page shares: facts, parties, route, items, tally chart, transits,
// history, alerts and shipments; who prepared and who signed the document, a
// migrated record's first date of issue and each line's crossings before
// Tally. Dates, numbers and countries are written
// for the chosen locale (i18n.js), country codes kept beside their names.

import { api, seg } from './api.js';
import { t } from './i18n.js';
import { h, field, errorBox, showError, clearError, dl, fmt, loc, short, table } from './dom.js';
import { tallyChart } from './chart.js';
import { ALERTS_MAX, ownAuthority, licenseHref, licenseLink, mark, pageTitle, raisedAt } from './common.js';
import { renderLicenseAlerts } from './alerts.js';

/** A code's label when the console has one (`prefix.code`), else the code as text. */
const i18nOr = (prefix, v) => (v && t(`${prefix}.${v}`) !== `${prefix}.${v}` ? h('span', { i18n: `${prefix}.${v}` }) : fmt(v));
/** A date for the locale, or "?" when missing. */
const day = (s) => (s ? { date: s } : '?');
/** A list of country codes as their names (a single code too). */
const countries = (v) => (Array.isArray(v) ? (v.length ? loc(v.map((c) => ({ country: c }))) : '—') : loc(v && { country: v }));

export function pageLicense(view, [auth = '', num = '']) {
  const err = errorBox('license-error');
  const content = h('div', { id: 'license-content' });
  const form = h('form', { id: 'lookup-form', class: 'card', role: 'search' },
    h('h2', { i18n: 'lic.lookup' }),
    h('div', { class: 'grid' },
      field('f.authority', h('input', { id: 'lookup-authority', required: true, value: auth, autocomplete: 'off', spellcheck: 'false' })),
      field('f.number', h('input', { id: 'lookup-number', required: true, value: num, autocomplete: 'off', spellcheck: 'false' }))),
    h('button', { type: 'submit', id: 'lookup-submit', class: 'primary', i18n: 'lic.lookupSubmit' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const a = form.querySelector('#lookup-authority').value.trim().toUpperCase();
    const n = form.querySelector('#lookup-number').value.trim();
    const href = licenseHref(a, n);
    if (location.hash === href) load(a, n); else location.hash = href;
  });
  let alive = true;
  async function load(a, n) {
    clearError(err);
    content.replaceChildren(h('p', { role: 'status', i18n: 'loading' }));
    const q = `authority=${seg(a)}&number=${seg(n)}`;
    const [lic, ships, alerts] = await Promise.allSettled([
      api('GET', `/v1/licenses/${seg(a)}/${seg(n)}`), api('GET', `/v1/shipments?${q}`),
      api('GET', `/v1/alerts?${q}&all=true&limit=${ALERTS_MAX}`)]);
    if (!alive) return;
    if (lic.status === 'rejected') { content.replaceChildren(); showError(err, lic.reason); return; }
    const settled = (r) => (r.status === 'fulfilled' ? r.value : r.reason);
    content.replaceChildren(renderLicense(lic.value, settled(ships), settled(alerts)));
  }
  view.append(pageTitle('lic.title'), form, err, content);
  if (auth && num) load(auth, num); else form.querySelector('#lookup-authority').focus();
  return () => { alive = false; };
}

/** A non-empty list as is; an empty or missing one as nothing (not shown). */
function listed(v) {
  return Array.isArray(v) && v.length ? v : null;
}

function party(p) {
  if (!p || typeof p !== 'object') return fmt(p);
  return h('span', {}, h('strong', { text: p.name ?? '' }),
    p.id ? h('span', { class: 'sub', text: ` (${p.id})` }) : null,
    p.address ? h('span', { class: 'sub block', text: p.address }) : null);
}

const STATUS_SYM = { active: '✔', suspended: '‖', revoked: '✘' };
export function statusBadge(s, id) {
  return h('span', { class: `badge status-${s}`, id, 'data-status': s },
    h('span', { 'aria-hidden': 'true' }, `${STATUS_SYM[s] || '?'} `), h('span', { i18n: `status.${s}` }));
}

/**
 * The license view shared by the check and license pages. `ships` and `alerts`:
 * array, ApiError, or undefined (not shown).
 */
export function renderLicense(lic, ships, alerts) {
  const d = lic.document || {};
  const kind = lic.kind || d.kind;
  const items = Array.isArray(d.items) ? d.items : [];
  const counted = Array.isArray(lic.tally) && lic.tally.length ? lic.tally
    : items.map((i) => ({ line: i.line, licensed: i.quantity, exit: 0, transit: 0, entry: 0 }));
  // A temporary export shows what came back (the API leaves out a 0).
  const tally = d.temporary ? counted.map((r) => ({ ...r, return: Number(r.return) || 0 })) : counted;
  const own = lic.authority === ownAuthority();

  return h('article', { class: 'license', id: 'license', 'data-kind': kind, 'aria-labelledby': 'license-heading' },
    h('h2', { id: 'license-heading' }, h('span', { i18n: `kind.${kind}` }), ' ', h('span', { text: lic.number }), ' ', statusBadge(lic.status, 'license-status')),
    h('p', { class: 'actions' },
      h('a', { href: `#/check/${seg(lic.authority)}/${seg(lic.number)}`, i18n: 'lic.checkThis' }),
      own ? h('a', { href: `#/issue/${seg(lic.authority)}/${seg(lic.number)}`, i18n: 'lic.changeStatus' }) : null,
      h('button', { type: 'button', id: 'license-print', class: 'secondary', i18n: 'lic.print', on: { click: () => window.print() } })),
    dl([
      ['lic.authority', lic.authority], ['lic.number', lic.number],
      ['lic.status', statusBadge(lic.status)], ['lic.version', lic.version],
      ['lic.validity', h('span', { i18n: ['lic.validRange', { from: day(d.valid_from), until: day(d.valid_until) }] })],
      ['lic.issued', lic.issued_at && raisedAt(lic.issued_at)],
      ['lic.entry', lic.entry ? h('span', {}, `seq ${lic.entry.seq}, `, short(lic.entry.hash)) : null],
      ['lic.readers', renderReaders(lic.readers)],
    ]),
    renderPeople(d),
    h('h3', { i18n: 'lic.parties' }),
    dl([['party.applicant', d.applicant && party(d.applicant)], ['party.consignee', d.consignee && party(d.consignee)],
      ['party.exporter', d.exporter && party(d.exporter)], ['party.importer', d.importer && party(d.importer)],
      ['party.end_user', d.end_user && party(d.end_user)], ['lic.end_use', d.end_use],
      ['lic.euc', d.end_user_certificate && h('span', { i18n: ['lic.eucText', { ...d.end_user_certificate, date: day(d.end_user_certificate.date) }] })],
      ['party.brokers', listed(d.brokers)], ['party.consignees', listed(d.consignees)],
      ['party.carriers', listed(d.carriers)], ['party.delivered_to', d.delivered_to && party(d.delivered_to)],
      ['lic.value', d.value && loc({ money: [d.value.amount, d.value.currency] })], ['lic.place_of_issue', d.place_of_issue],
      ['lic.deliveryDate', kind === 'delivery' && d.date ? raisedAt(d.date) : null],
      ['lic.denialDate', kind === 'denial' && d.date ? raisedAt(d.date) : null], ['lic.criterion', d.criterion]]),
    kind === 'denial' && Array.isArray(d.goods) ? [h('h3', { i18n: 'fm.deniedGoods' }), table({
      id: 'denial-goods', rows: d.goods, cols: [
        ['col.category', (g) => i18nOr('cat', g.category)], ['fm.hsHeading', (g) => g.hs_heading], ['col.description', (g) => g.description]] })] : null,
    h('h3', { i18n: 'lic.countries' }),
    dl([
      ['c.export', countries(d.exporting_country)], ['c.import', countries(d.importing_country)],
      ['c.denying', countries(d.denying_country)], ['c.destination', countries(d.destination)],
      ['c.transits', kind === 'export' ? countries(d.transit_countries ?? []) : countries(d.transit_countries)],
      ['c.transit', countries(d.transit_country)],
      // An end-use request names its own authority's license by number.
      ['lic.exportLicense', d.export_license && licenseLink(typeof d.export_license === 'string'
        ? { authority: lic.authority, number: d.export_license } : d.export_license)],
      ['lic.request', d.request && h('span', { id: 'answer-request' }, licenseLink(d.request))],
      ['lic.answer', d.answer && h('span', { id: 'answer-verdict' }, i18nOr('answer', d.answer))], ['req.comment', d.comment],
      ['lic.entryPoint', d.entry_point], ['lic.exitPoint', d.exit_point],
      ['lic.decision', d.decision && i18nOr('decision', d.decision)],
      ['lic.importCert', d.import_certificate && h('span', { id: 'import-certificate-link' }, licenseLink(d.import_certificate))],
      ['lic.shipments', d.shipments && i18nOr('ship', d.shipments)], ['lic.conditions', d.conditions],
      ['lic.purpose', d.temporary && h('span', { id: 'license-temporary' }, i18nOr('purpose', d.temporary.purpose))],
      ['lic.returnBy', d.temporary && d.temporary.return_by ? raisedAt(d.temporary.return_by) : null],
    ]),
    Array.isArray(d.planned_shipments) && d.planned_shipments.length ? [h('h3', { i18n: 'lic.plans' }), table({
      id: 'planned-shipments', rows: d.planned_shipments, cols: [
        ['lic.exitPoint', (p) => fmt(p.exit_point)], ['lic.entryPoint', (p) => fmt(p.entry_point)],
        ['col.mode', (p) => i18nOr('mode', p.mode)], ['col.from', (p) => fmt(p.from)], ['col.to', (p) => fmt(p.to)],
        ['party.carriers', (p) => fmt(p.carrier)]] })] : null,
    kind === 'export' && Array.isArray(d.transit_countries) && d.transit_countries.length
      ? renderTransits(lic.transit_authorizations, d.transit_countries) : null,
    items.length ? [h('h3', { i18n: 'lic.items' }), table({
      id: 'license-items', rows: items, cols: [
        ['col.line', (i) => fmt(i.line)], ['col.category', (i) => i18nOr('cat', i.category)],
        ['col.description', (i) => fmt(i.description)], ['col.hs', (i) => fmt(i.hs_code)],
        ['col.make', (i) => fmt(i.make)], ['col.model', (i) => fmt(i.model)], ['col.caliber', (i) => fmt(i.caliber)],
        ['col.quantity', (i) => [loc({ num: i.quantity }) ?? '—', ' ', i18nOr('unit', i.unit)]], ['col.serials', (i) => h('span', { class: 'serials' }, fmt(i.serials))],
        ...(items.some((i) => i.shipped_before > 0) ? [['people.shippedBefore', (i) => h('span', { class: 'shipped-before', 'data-line': i.line },
          loc({ num: Number(i.shipped_before) || 0 }))]] : []),
      ],
    })] : null,
    items.length || (lic.tally && lic.tally.length) ? tallyChart(tally) : null,
    kind === 'enduse_request' ? renderAnswers(lic.answers) : null,
    renderHistory(lic.history),
    alerts === undefined ? null : renderLicenseAlerts(alerts),
    ships === undefined ? null : renderShipments(ships));
}

/** The answers to an end-use request this node reads (none yet: said so). */
function renderAnswers(answers) {
  const rows = Array.isArray(answers) ? answers : [];
  return [h('h3', { i18n: 'req.answers' }), rows.length ? table({
    id: 'enduse-answers', rows, cols: [
      ['lic.authority', (a) => fmt(a.authority)], ['lic.number', (a) => licenseLink(a)],
      ['lic.answer', (a) => i18nOr('answer', a.answer)], ['lic.status', (a) => statusBadge(a.status)],
      ['req.date', (a) => fmt(a.date)], ['req.comment', (a) => fmt(a.comment)]] })
    : h('p', { id: 'enduse-unanswered', class: 'hint', i18n: 'req.noAnswer' })];
}

/** A person named on a document as "Name, Title" (text from the node, set as text). */
export function person(p) {
  if (!p || typeof p !== 'object' || !p.name) return null;
  return h('span', { class: 'person' }, h('strong', { class: 'person-name', text: String(p.name) }),
    p.title ? h('span', { class: 'person-title', text: `, ${p.title}` }) : null);
}

/**
 * Who prepared this version and who signed it (absent from documents issued
 * before they were named), and a migrated record's first date of issue.
 */
function renderPeople(d) {
  const migrated = d.migrated ? h('p', { id: 'license-migrated', class: 'migrated-note' },
    h('strong', { i18n: ['people.migratedOn', { date: d.original_issue_date ? { date: d.original_issue_date } : '?' }] })) : null;
  if (!d.prepared_by && !d.signatory) return migrated;
  return [migrated, h('section', { id: 'license-people', class: 'people', 'aria-labelledby': 'license-people-title' },
    h('h3', { id: 'license-people-title', i18n: 'people.title' }),
    dl([['people.preparedBy', d.prepared_by && h('span', { id: 'license-prepared-by' }, person(d.prepared_by))],
      ['people.signatory', d.signatory && h('span', { id: 'license-signatory' }, person(d.signatory))]]))];
}

/**
 * Who can read a document: the recipient list sealed inside it (the issuer
 * first), or everyone when it is in clear. Names come from the network: text only.
 */
function renderReaders(readers) {
  const list = Array.isArray(readers) ? readers.filter((r) => typeof r === 'string') : [];
  if (!list.length) {
    return h('span', { id: 'license-readers', 'data-sealed': 'false', i18n: 'lic.readersAll' });
  }
  return h('span', { id: 'license-readers', 'data-sealed': 'true' },
    h('span', { i18n: 'lic.readersSealed' }), ' ',
    h('span', { class: 'readers' }, list.map((r, i) => [i ? ', ' : '', h('code', { class: 'reader', text: r })])));
}

/** The transit authorizations the node holds for an export, or a hint where to find them. */
function renderTransits(list, codes) {
  if (!Array.isArray(list) || !list.length) {
    return h('p', { class: 'hint', id: 'transit-hint', i18n: ['lic.transitNone', { countries: codes.map((c) => ({ country: c })) }] });
  }
  return [h('h3', { i18n: 'lic.transits' }), table({
    id: 'transit-authorizations', rows: list, cols: [
      ['col.authorization', (a) => licenseLink({ authority: a.authority, number: a.number })],
      ['c.transit', (a) => countries(a.document && a.document.transit_country) ?? '—'],
      ['col.status', (a) => statusBadge(a.status)],
      ['lic.decision', (a) => i18nOr('decision', a.document && a.document.decision)],
      ['lic.validity', (a) => (a.document ? h('span', { i18n: ['lic.validRange', { from: day(a.document.valid_from), until: day(a.document.valid_until) }] }) : '')],
    ],
  })];
}

/** Issue, amendments and status changes, oldest first. */
function renderHistory(history) {
  if (!Array.isArray(history) || !history.length) return null;
  return [h('h3', { i18n: 'lic.history' }), table({
    id: 'license-history', rows: history, cols: [
      ['col.date', (e) => raisedAt(e.at)], ['col.event', (e) => fmt(e.event)], ['lic.version', (e) => fmt(e.version)],
      ['col.reason', (e) => fmt(e.reason)], ['col.seq', (e) => fmt(e.entry && e.entry.seq)],
    ],
  })];
}

function renderShipments(ships) {
  const box = h('section', { 'aria-labelledby': 'ships-title' }, h('h3', { id: 'ships-title', i18n: 'ships.title' }));
  if (!Array.isArray(ships)) {
    const err = errorBox('shipments-error');
    box.append(err);
    showError(err, ships);
    return box;
  }
  if (!ships.length) { box.append(h('p', { i18n: 'ships.none' })); return box; }
  const cp = (c) => (c && typeof c === 'object'
    ? [countries(c.country) ?? '', ` ${c.port ?? ''} · `, c.direction ? h('span', { i18n: `dir.${c.direction}` }) : ''] : fmt(c));
  const items = (list) => (Array.isArray(list)
    ? list.map((i, n) => [n ? '; ' : '', `#${i.line}: `, loc({ num: i.quantity }) ?? '—', i.serials && i.serials.length ? ` (${i.serials.join(', ')})` : '']) : fmt(list));
  box.append(table({
    id: 'shipments', rows: ships,
    rowAttrs: (s) => ({ 'data-verdict': s.verdict }),
    cols: [
      ['col.recorded_by', (s) => fmt(s.recorded_by)], ['col.seq', (s) => fmt(s.seq)], ['col.checkpoint', (s) => cp(s.checkpoint)],
      ['col.date', (s) => raisedAt(s.date)], ['col.verdict', (s) => mark(s.verdict === 'accept', 'verdict.accept', 'verdict.reject')],
      ['col.items', (s) => items(s.items)],
    ],
  }));
  return box;
}
