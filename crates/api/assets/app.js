// app.js: the console itself: sign-in, the header's node identity, the hash
// router (#/check, #/license/AUTH/NUMBER, #/issue, #/network, #/alerts), the
// five pages and the navigation's count of open alerts. Only the current
// page's DOM exists; pages return a cleanup function.

import { api, token, seg, setUnauthorizedHandler } from './api.js';
import { t, setLang, getLang } from './i18n.js';
import { h, field, errorBox, showError, clearError, dl, fmt, short, table, genericTable } from './dom.js';
import { tallyChart } from './chart.js';

const $ = (sel) => document.querySelector(sel);
const state = { status: null };
let cleanup = null;

const today = () => new Date().toISOString().slice(0, 10);
const plusDays = (n) => new Date(Date.now() + n * 864e5).toISOString().slice(0, 10);
const ownAuthority = () => state.status?.authority || '';
const ownCountry = () => ownAuthority().split('-')[0] || '';
const licenseHref = (a, n) => `#/license/${seg(a)}/${seg(n)}`;
const licenseLink = (ref) => (ref && ref.authority && ref.number
  ? h('a', { href: licenseHref(ref.authority, ref.number) }, `${ref.authority} ${ref.number}`) : fmt(ref));
const mark = (ok, yesKey, noKey) => h('span', { class: `mark ${ok ? 'ok' : 'bad'}` },
  h('span', { 'aria-hidden': 'true' }, ok ? '✔ ' : '✘ '), h('span', { i18n: ok ? yesKey : noKey }));
const pageTitle = (key) => h('h1', { id: 'page-title', tabindex: '-1', i18n: key });

// ---------------------------------------------------------------- shell

function showSignin(msgKey) {
  if (cleanup) { cleanup(); cleanup = null; }
  stopAlertCount();
  state.status = null;
  $('#view').replaceChildren();
  for (const id of ['#nav', '#node-info', '#signout']) $(id).hidden = true;
  $('#signin-view').hidden = false;
  const box = $('#signin-error');
  if (msgKey) { box.hidden = false; box.replaceChildren(h('p', { i18n: msgKey })); } else clearError(box);
  $('#token').value = '';
  $('#token').focus();
}

function showNode(st) {
  state.status = st;
  $('#node-authority').textContent = st.authority ?? '';
  $('#node-peer').textContent = st.peer_id ?? '';
  $('#node-info').hidden = false;
}

async function signIn(tok) {
  token.set(tok);
  try {
    showNode(await api('GET', '/v1/status'));
  } catch (e) {
    token.clear();
    showSignin(e.status === 401 ? 'signin.bad' : null);
    if (e.status !== 401) showError($('#signin-error'), e);
    return;
  }
  $('#signin-view').hidden = true;
  $('#nav').hidden = false;
  $('#signout').hidden = false;
  startAlertCount();
  route(false);
}

// ---------------------------------------------------------------- open alerts in the navigation

/** Most alerts one answer lists (docs/API.md "Alerts"): the count shows "1000+" past it. */
const ALERTS_MAX = 1000;
let countTimer = null, countSeq = 0;

function startAlertCount() {
  stopAlertCount();
  countTimer = setInterval(refreshAlertCount, 30000);
}

function stopAlertCount() {
  if (countTimer) clearInterval(countTimer);
  countTimer = null;
  countSeq++;
  const el = $('#nav-alerts-count');
  el.hidden = true;
  el.replaceChildren();
}

/** Re-reads the number of open alerts; the newest answer wins. */
async function refreshAlertCount() {
  if (!token.get()) return;
  const mine = ++countSeq;
  let n;
  try {
    const list = await api('GET', `/v1/alerts?limit=${ALERTS_MAX}`);
    n = Array.isArray(list) ? list.length : 0;
  } catch {
    return; // the page in view reports errors; the count keeps its last value
  }
  if (mine !== countSeq) return;
  const el = $('#nav-alerts-count');
  el.dataset.count = String(n);
  el.classList.toggle('some', n > 0);
  el.replaceChildren(h('span', { class: 'n', text: n >= ALERTS_MAX ? `${ALERTS_MAX}+` : String(n) }),
    h('span', { class: 'sr-only' }, ' ', h('span', { i18n: 'nav.alertsOpen' })));
  el.hidden = false;
}

const ROUTES = { check: pageCheck, license: pageLicense, issue: pageIssue, network: pageNetwork, alerts: pageAlerts };

function route(moveFocus = true) {
  if (!token.get() || !state.status) return;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  const name = ROUTES[parts[0]] ? parts[0] : 'check';
  if (cleanup) { cleanup(); cleanup = null; }
  const view = $('#view');
  view.replaceChildren();
  cleanup = ROUTES[name](view, parts.slice(1)) || null;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.id === `nav-${name}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (moveFocus) $('#page-title')?.focus();
  refreshAlertCount();
}

// ---------------------------------------------------------------- check a shipment

function pageCheck(view, [auth = '', num = '']) {
  const err = errorBox('check-error');
  const result = h('div', { id: 'check-result' });
  const rows = h('div', { id: 'item-rows' });
  let rowSeq = 0;

  function addRow(focus) {
    const n = ++rowSeq;
    const next = rows.children.length + 1;
    const row = h('div', { class: 'item-row' },
      field('f.line', h('input', { id: `item-line-${n}`, class: 'item-line', type: 'number', min: 1, step: 1, required: true, value: String(next), inputmode: 'numeric' })),
      field('f.quantity', h('input', { id: `item-quantity-${n}`, class: 'item-quantity', type: 'number', min: 0, step: 1, required: true, inputmode: 'numeric' })),
      field('f.serials', h('input', { id: `item-serials-${n}`, class: 'item-serials', type: 'text', autocomplete: 'off', spellcheck: 'false' })),
      h('button', { type: 'button', class: 'secondary remove', i18n: 'item.remove', on: { click: () => {
        row.remove();
        addBtn.focus();
      } } }));
    rows.append(row);
    if (focus) row.querySelector('.item-line').focus();
  }
  const addBtn = h('button', { type: 'button', id: 'item-add', class: 'secondary', i18n: 'item.add', on: { click: () => addRow(true) } });

  const dir = h('select', { id: 'cp-direction', name: 'cp-direction' },
    ['exit', 'transit', 'entry'].map((d) => h('option', { value: d, i18n: `dir.${d}` })));
  const form = h('form', { id: 'check-form', class: 'card' },
    h('fieldset', {}, h('legend', { i18n: 'check.license' }),
      h('div', { class: 'grid' },
        field('f.authority', h('input', { id: 'lic-authority', required: true, value: auth, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters' })),
        field('f.number', h('input', { id: 'lic-number', required: true, value: num, autocomplete: 'off', spellcheck: 'false' })))),
    h('fieldset', {}, h('legend', { i18n: 'check.checkpoint' }),
      h('div', { class: 'grid' },
        field('f.country', h('input', { id: 'cp-country', required: true, value: ownCountry(), maxlength: 2, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters' })),
        field('f.port', h('input', { id: 'cp-port', autocomplete: 'off', spellcheck: 'false' })),
        field('f.direction', dir),
        field('f.date', h('input', { id: 'ship-date', type: 'date', required: true, value: today() })))),
    h('fieldset', {}, h('legend', { i18n: 'check.declared' }),
      h('div', { class: 'grid' },
        field('f.exporter', h('input', { id: 'exporter', autocomplete: 'off' })),
        field('f.importer', h('input', { id: 'importer', autocomplete: 'off' })))),
    h('fieldset', {}, h('legend', { i18n: 'check.items' }), rows, addBtn),
    h('div', { class: 'check' }, h('input', { id: 'record', type: 'checkbox' }), h('label', { for: 'record', i18n: 'f.record' })),
    h('button', { type: 'submit', id: 'check-submit', class: 'primary', i18n: 'check.submit' }));
  addRow(false);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(err);
    const v = (id) => form.querySelector(`#${id}`).value.trim();
    const body = {
      license: { authority: v('lic-authority').toUpperCase(), number: v('lic-number') },
      checkpoint: { country: v('cp-country').toUpperCase(), port: v('cp-port'), direction: dir.value },
      date: v('ship-date') || today(),
      items: [...rows.children].map((r) => {
        const item = { line: Number(r.querySelector('.item-line').value), quantity: Number(r.querySelector('.item-quantity').value) };
        const serials = r.querySelector('.item-serials').value.split(/[\s,;]+/).filter(Boolean);
        if (serials.length) item.serials = serials;
        return item;
      }),
      record: form.querySelector('#record').checked,
    };
    if (v('exporter')) body.exporter = v('exporter');
    if (v('importer')) body.importer = v('importer');
    const submit = form.querySelector('#check-submit');
    submit.disabled = true;
    result.replaceChildren(h('p', { role: 'status', i18n: 'loading' }));
    try {
      renderVerdict(result, await api('POST', '/v1/shipments/verify', body));
      result.querySelector('#result-title')?.focus();
    } catch (ex) {
      result.replaceChildren();
      showError(err, ex);
    } finally {
      submit.disabled = false;
    }
  });

  view.append(pageTitle('check.title'), form, err, result);
  if (!auth) form.querySelector('#lic-authority').focus();
}

function renderVerdict(box, r) {
  const ok = r.verdict === 'accept';
  const checks = Array.isArray(r.checks) ? r.checks : [];
  box.replaceChildren(
    h('h2', { id: 'result-title', tabindex: '-1', i18n: 'check.result' }),
    h('div', { class: `verdict ${ok ? 'accept' : 'reject'}` },
      h('span', { class: 'sym', 'aria-hidden': 'true' }, ok ? '✔' : '✘'), ' ',
      h('span', { id: 'verdict', 'data-verdict': ok ? 'accept' : 'reject', i18n: ok ? 'verdict.accept' : 'verdict.reject' })),
    table({
      id: 'checks', caption: 'checks.caption', rows: checks, cls: 'checks',
      rowAttrs: (c) => ({ 'data-rule': c.rule, 'data-ok': c.ok ? 'true' : 'false', class: c.ok ? 'ok' : 'bad' }),
      cols: [
        ['col.rule', (c) => [h('code', { text: c.rule }), t(`rule.${c.rule}`) !== `rule.${c.rule}` ? h('span', { class: 'rule-desc', i18n: `rule.${c.rule}` }) : null]],
        ['col.result', (c) => mark(c.ok, 'ok.yes', 'ok.no')],
        ['col.detail', (c) => fmt(c.detail)],
      ],
    }),
    r.record
      ? h('p', { id: 'record-result', class: 'recorded' }, '✔ ', h('span', { i18n: ['record.done', { seq: r.record.seq, hash: r.record.hash }] }))
      : h('p', { id: 'record-result', class: 'hint', i18n: 'record.none' }),
    r.license ? renderLicense(r.license) : null);
}

// ---------------------------------------------------------------- license

function pageLicense(view, [auth = '', num = '']) {
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
function statusBadge(s, id) {
  return h('span', { class: `badge status-${s}`, id, 'data-status': s },
    h('span', { 'aria-hidden': 'true' }, `${STATUS_SYM[s] || '?'} `), h('span', { i18n: `status.${s}` }));
}

/**
 * The license view shared by the check and license pages. `ships` and `alerts`:
 * array, ApiError, or undefined (not shown).
 */
function renderLicense(lic, ships, alerts) {
  const d = lic.document || {};
  const kind = lic.kind || d.kind;
  const items = Array.isArray(d.items) ? d.items : [];
  const tally = Array.isArray(lic.tally) && lic.tally.length ? lic.tally
    : items.map((i) => ({ line: i.line, licensed: i.quantity, exit: 0, transit: 0, entry: 0 }));
  const own = lic.authority === ownAuthority();
  const i18nOr = (prefix, v) => (v && t(`${prefix}.${v}`) !== `${prefix}.${v}` ? h('span', { i18n: `${prefix}.${v}` }) : fmt(v));

  return h('article', { class: 'license', id: 'license', 'data-kind': kind, 'aria-labelledby': 'license-heading' },
    h('h2', { id: 'license-heading' }, h('span', { i18n: `kind.${kind}` }), ' ', h('span', { text: lic.number }), ' ', statusBadge(lic.status, 'license-status')),
    h('p', { class: 'actions' },
      h('a', { href: `#/check/${seg(lic.authority)}/${seg(lic.number)}`, i18n: 'lic.checkThis' }),
      own ? h('a', { href: `#/issue/${seg(lic.authority)}/${seg(lic.number)}`, i18n: 'lic.changeStatus' }) : null),
    dl([
      ['lic.authority', lic.authority], ['lic.number', lic.number],
      ['lic.status', statusBadge(lic.status)], ['lic.version', lic.version],
      ['lic.validity', h('span', { i18n: ['lic.validRange', { from: d.valid_from ?? '?', until: d.valid_until ?? '?' }] })],
      ['lic.issued', lic.issued_at],
      ['lic.entry', lic.entry ? h('span', {}, `seq ${lic.entry.seq}, `, short(lic.entry.hash)) : null],
      ['lic.readers', renderReaders(lic.readers)],
    ]),
    h('h3', { i18n: 'lic.parties' }),
    dl([['party.exporter', d.exporter && party(d.exporter)], ['party.importer', d.importer && party(d.importer)],
      ['party.end_user', d.end_user && party(d.end_user)], ['lic.end_use', d.end_use],
      ['lic.euc', d.end_user_certificate && h('span', { i18n: ['lic.eucText', d.end_user_certificate] })],
      ['party.brokers', listed(d.brokers)], ['party.consignees', listed(d.consignees)],
      ['party.carriers', listed(d.carriers)], ['party.delivered_to', d.delivered_to && party(d.delivered_to)],
      ['lic.value', d.value && `${d.value.amount} ${d.value.currency}`], ['lic.place_of_issue', d.place_of_issue],
      ['lic.deliveryDate', d.date]]),
    h('h3', { i18n: 'lic.countries' }),
    dl([
      ['c.export', d.exporting_country], ['c.import', d.importing_country],
      ['c.transits', kind === 'export' ? fmt(d.transit_countries) : d.transit_countries],
      ['c.transit', d.transit_country],
      ['lic.exportLicense', d.export_license && licenseLink(d.export_license)],
      ['lic.entryPoint', d.entry_point], ['lic.exitPoint', d.exit_point],
      ['lic.decision', d.decision && i18nOr('decision', d.decision)],
      ['lic.importCert', d.import_certificate && h('span', { id: 'import-certificate-link' }, licenseLink(d.import_certificate))],
      ['lic.shipments', d.shipments && i18nOr('ship', d.shipments)], ['lic.conditions', d.conditions],
    ]),
    kind === 'export' && Array.isArray(d.transit_countries) && d.transit_countries.length
      ? renderTransits(lic.transit_authorizations, d.transit_countries) : null,
    items.length ? [h('h3', { i18n: 'lic.items' }), table({
      id: 'license-items', rows: items, cols: [
        ['col.line', (i) => fmt(i.line)], ['col.category', (i) => i18nOr('cat', i.category)],
        ['col.description', (i) => fmt(i.description)], ['col.hs', (i) => fmt(i.hs_code)],
        ['col.make', (i) => fmt(i.make)], ['col.model', (i) => fmt(i.model)], ['col.caliber', (i) => fmt(i.caliber)],
        ['col.quantity', (i) => [fmt(i.quantity), ' ', i18nOr('unit', i.unit)]], ['col.serials', (i) => fmt(i.serials)],
      ],
    })] : null,
    items.length || (lic.tally && lic.tally.length) ? tallyChart(tally) : null,
    renderHistory(lic.history),
    alerts === undefined ? null : renderLicenseAlerts(alerts),
    ships === undefined ? null : renderShipments(ships));
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
function renderTransits(list, countries) {
  if (!Array.isArray(list) || !list.length) {
    return h('p', { class: 'hint', id: 'transit-hint', i18n: ['lic.transitNone', { countries: countries.join(', ') }] });
  }
  return [h('h3', { i18n: 'lic.transits' }), table({
    id: 'transit-authorizations', rows: list, cols: [
      ['col.authorization', (t) => licenseLink({ authority: t.authority, number: t.number })],
      ['c.transit', (t) => fmt(t.document && t.document.transit_country)],
      ['col.status', (t) => statusBadge(t.status)],
      ['lic.decision', (t) => fmt(t.document && t.document.decision)],
      ['lic.validity', (t) => (t.document ? `${t.document.valid_from} – ${t.document.valid_until}` : '')],
    ],
  })];
}

/** Issue, amendments and status changes, oldest first. */
function renderHistory(history) {
  if (!Array.isArray(history) || !history.length) return null;
  return [h('h3', { i18n: 'lic.history' }), table({
    id: 'license-history', rows: history, cols: [
      ['col.date', (e) => fmt(e.at)], ['col.event', (e) => fmt(e.event)], ['lic.version', (e) => fmt(e.version)],
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
    ? [`${c.country ?? ''} ${c.port ?? ''} · `, c.direction ? h('span', { i18n: `dir.${c.direction}` }) : ''] : fmt(c));
  const items = (list) => (Array.isArray(list)
    ? list.map((i) => `#${i.line}: ${i.quantity}${i.serials && i.serials.length ? ` (${i.serials.join(', ')})` : ''}`).join('; ') : fmt(list));
  box.append(table({
    id: 'shipments', rows: ships,
    rowAttrs: (s) => ({ 'data-verdict': s.verdict }),
    cols: [
      ['col.recorded_by', (s) => fmt(s.recorded_by)], ['col.seq', (s) => fmt(s.seq)], ['col.checkpoint', (s) => cp(s.checkpoint)],
      ['col.date', (s) => fmt(s.date)], ['col.verdict', (s) => mark(s.verdict === 'accept', 'verdict.accept', 'verdict.reject')],
      ['col.items', (s) => items(s.items)],
    ],
  }));
  return box;
}

// ---------------------------------------------------------------- issue

function sampleDoc(kind) {
  const cc = ownCountry() || 'US';
  const partner = cc === 'MX' ? 'US' : 'MX';
  const via = [cc, partner].includes('GT') ? 'PA' : 'GT';
  const year = today().slice(0, 4);
  const rnd = String(Math.floor(Math.random() * 9000) + 1000);
  const exporter = { name: 'Acme Arms Inc.' }, importer = { name: 'Importadora del Norte SA' };
  const items = [{ line: 1, category: 'firearm', description: 'pistol', hs_code: '930200', make: 'Acme', model: 'P9',
    caliber: '9x19mm', quantity: 100, unit: 'units', serials: ['AC1000', 'AC1001'] }];
  const validity = { valid_from: today(), valid_until: plusDays(180) };
  if (kind === 'import') {
    return { kind, number: `IC-${year}-${rnd}`, importing_country: cc, exporting_country: partner, importer, exporter,
      end_user: { name: 'Policia Estatal' }, end_use: 'law enforcement', items, ...validity };
  }
  if (kind === 'transit') {
    return { kind, number: `TR-${year}-${rnd}`, transit_country: cc,
      export_license: { authority: `${partner}-AUTH`, number: `EXP-${year}-0001` },
      entry_point: `${cc}AAA`, exit_point: `${cc}BBB`, ...validity, decision: 'authorized' };
  }
  if (kind === 'delivery') {
    return { kind, number: `DV-${year}-${rnd}`, importing_country: cc,
      export_license: { authority: `${partner}-AUTH`, number: `EXP-${year}-0001` },
      delivered_to: { name: 'Policia Estatal' }, date: today(), items: [{ line: 1, quantity: 40 }] };
  }
  return { kind: 'export', number: `EXP-${year}-${rnd}`, exporting_country: cc, importing_country: partner,
    transit_countries: [via], exporter, importer, end_user: { name: 'Policia Estatal' }, end_use: 'law enforcement',
    end_user_certificate: { number: `EUC-${year}-${rnd}`, date: today(), issued_by: `${partner}-AUTH` },
    brokers: [], consignees: [], carriers: [{ name: 'Transportes del Golfo SA' }],
    value: { amount: '84500.00', currency: 'USD' }, place_of_issue: 'Washington, DC',
    items, ...validity, import_certificate: { authority: `${partner}-AUTH`, number: `IC-${year}-0001` },
    shipments: 'partial', conditions: 'no re-export' };
}

function pageIssue(view, [auth = '', num = '']) {
  const err = errorBox('issue-error');
  const result = h('div', { id: 'issue-result', role: 'status' });
  const kind = h('select', { id: 'issue-kind' }, ['export', 'import', 'transit', 'delivery'].map((k) => h('option', { value: k, i18n: `kind.${k}` })));
  const text = h('textarea', { id: 'issue-json', rows: 22, spellcheck: 'false', autocomplete: 'off', class: 'mono' });
  const load = () => { text.value = JSON.stringify(sampleDoc(kind.value), null, 2); };
  kind.addEventListener('change', load);
  const amend = h('input', { id: 'issue-amend', type: 'checkbox' });
  const form = h('form', { id: 'issue-form', class: 'card' },
    h('div', { class: 'grid' }, field('issue.kind', kind),
      h('div', { class: 'field end' }, h('button', { type: 'button', id: 'issue-sample', class: 'secondary', i18n: 'issue.sample', on: { click: load } }))),
    field('issue.json', text),
    h('p', { class: 'hint', id: 'issue-fields', i18n: 'issue.fields' }),
    h('div', { class: 'check' }, amend, h('label', { for: 'issue-amend', i18n: 'issue.amend' })),
    h('button', { type: 'submit', id: 'issue-submit', class: 'primary', i18n: 'issue.submit' }));
  text.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(err);
    result.replaceChildren();
    let doc;
    try { doc = JSON.parse(text.value); } catch (ex) { showError(err, { code: 'local_json', message: ex.message }); return; }
    try {
      if (amend.checked) {
        const r = await api('POST', `/v1/licenses/${seg(ownAuthority())}/${seg(doc.number ?? '')}/amend`, doc);
        result.append(h('p', { class: 'ok-text' }, '✔ ', h('span', { i18n: ['issue.amended', { number: doc.number, version: r.version, seq: r.entry?.seq }] })));
        result.append(h('a', { href: licenseHref(ownAuthority(), doc.number), i18n: 'issue.open' }), h('pre', { class: 'mono', text: JSON.stringify(r, null, 2) }));
      } else {
        const r = await api('POST', '/v1/licenses', doc);
        result.append(h('p', { class: 'ok-text' }, '✔ ', h('span', { i18n: ['issue.done', { authority: r.authority, number: r.number, seq: r.entry?.seq }] })));
        result.append(h('a', { href: licenseHref(r.authority, r.number), i18n: 'issue.open' }), h('pre', { class: 'mono', text: JSON.stringify(r, null, 2) }));
      }
    } catch (ex) { showError(err, ex); }
  });
  load();
  view.append(pageTitle('issue.title'), h('p', { class: 'hint', i18n: ['issue.hint', { country: ownCountry() }] }), form, err, result,
    statusForm(auth || ownAuthority(), num));
  if (num) view.querySelector('#status-reason').focus();
}

function statusForm(auth, num) {
  const err = errorBox('status-error');
  const result = h('div', { id: 'status-result', role: 'status' });
  const confirmBox = h('div', { id: 'revoke-confirm', class: 'alert warn', hidden: true });
  const form = h('form', { id: 'status-form', class: 'card' },
    h('h2', { i18n: 'st.title' }),
    h('div', { class: 'grid' },
      field('f.authority', h('input', { id: 'status-authority', required: true, value: auth, autocomplete: 'off', spellcheck: 'false' })),
      field('f.number', h('input', { id: 'status-number', required: true, value: num, autocomplete: 'off', spellcheck: 'false' }))),
    field('f.reason', h('input', { id: 'status-reason', required: true, autocomplete: 'off' })),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', id: 'status-suspend', value: 'suspended', i18n: 'st.suspend' }),
      h('button', { type: 'submit', id: 'status-reinstate', value: 'active', class: 'secondary', i18n: 'st.reinstate' }),
      h('button', { type: 'submit', id: 'status-revoke', value: 'revoked', class: 'danger', i18n: 'st.revoke' })),
    confirmBox);
  const val = (id) => form.querySelector(`#${id}`).value.trim();
  async function send(status) {
    clearError(err);
    result.replaceChildren();
    const a = val('status-authority').toUpperCase(), n = val('status-number');
    try {
      const r = await api('POST', `/v1/licenses/${seg(a)}/${seg(n)}/status`, { status, reason: val('status-reason') });
      result.append(h('p', { class: 'ok-text' }, '✔ ', h('span', { i18n: ['st.done', { authority: a, number: n, status: t(`status.${r.status || status}`), seq: r.entry?.seq }] })),
        h('a', { href: licenseHref(a, n), i18n: 'issue.open' }));
    } catch (ex) { showError(err, ex); }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const status = e.submitter?.value || 'suspended';
    if (status !== 'revoked') { confirmBox.hidden = true; send(status); return; }
    // revoked is final: ask in the page (keyboard- and test-friendly), not with window.confirm
    const yes = h('button', { type: 'button', id: 'status-revoke-confirm', class: 'danger', i18n: 'st.confirmYes', on: { click: () => { confirmBox.hidden = true; send('revoked'); } } });
    confirmBox.replaceChildren(
      h('p', {}, '⚠ ', h('span', { i18n: ['st.confirm', { authority: val('status-authority'), number: val('status-number') }] })),
      h('div', { class: 'buttons' }, yes, h('button', { type: 'button', id: 'status-revoke-cancel', class: 'secondary', i18n: 'st.cancel',
        on: { click: () => { confirmBox.hidden = true; form.querySelector('#status-revoke').focus(); } } })));
    confirmBox.hidden = false;
    yes.focus();
  });
  return h('section', { 'aria-label': 'status' }, form, err, result);
}

// ---------------------------------------------------------------- network

/** How many of a log's newest entries the network page lists. */
const ENTRIES_SHOWN = 20;

/** An entry's kind as a label: a sealed one as a "sealed" badge, unknown kinds as their code. */
function entryKind(kind) {
  if (kind === 'sealed') {
    return h('span', { class: 'badge sealed', 'data-kind': 'sealed', i18n: 'entry.sealed' });
  }
  const key = [`entry.${kind}`, `kind.${kind}`].find((k) => t(k) !== k);
  return key ? h('span', { i18n: key }) : h('code', { text: String(kind ?? '') });
}

function pageNetwork(view) {
  const updated = h('p', { id: 'net-updated', class: 'hint' });
  const err = errorBox('network-error');
  const evidence = h('div', { id: 'net-evidence' });
  const sections = {};
  const section = (id, key) => {
    sections[id] = h('div', { id: `${id}-body` });
    return h('section', { id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title`, i18n: key }), sections[id]);
  };
  view.append(pageTitle('net.title'), updated, err,
    h('section', { 'aria-labelledby': 'net-evidence-title' }, h('h2', { id: 'net-evidence-title', i18n: 'net.evidence' }), evidence),
    section('net-node', 'net.node'), section('net-peers', 'net.peers'), section('net-logs', 'net.logs'),
    section('net-entries', 'net.entries'), section('net-authorities', 'net.authorities'));
  sections['net-entries'].replaceChildren(h('p', { class: 'hint', i18n: 'net.entriesHint' }));

  let lastEvidence = null, busy = false, alive = true;
  async function refresh() {
    if (busy) return;
    busy = true;
    const [st, ev, au] = await Promise.allSettled([api('GET', '/v1/status'), api('GET', '/v1/evidence'), api('GET', '/v1/authorities')]);
    busy = false;
    if (!alive) return;
    const failed = [st, ev, au].find((r) => r.status === 'rejected');
    if (failed) showError(err, failed.reason); else clearError(err);
    if (st.status === 'fulfilled') renderStatus(st.value);
    if (ev.status === 'fulfilled') renderEvidence(Array.isArray(ev.value) ? ev.value : []);
    if (au.status === 'fulfilled') sections['net-authorities'].replaceChildren(genericTable(au.value, 'authorities'));
    updated.replaceChildren(h('span', { i18n: ['net.updated', { time: new Date().toLocaleTimeString(getLang()) }] }));
  }
  function renderStatus(s) {
    showNode(s);
    sections['net-node'].replaceChildren(dl([
      ['lic.authority', s.authority], ['peer.label', h('code', { class: 'wrap', text: s.peer_id ?? '' })],
      ['net.sync', s.sync === undefined ? null : (s.sync && typeof s.sync === 'object' ? genericTable(s.sync, 'net-sync') : fmt(s.sync))],
    ]));
    const peers = Array.isArray(s.peers) ? s.peers : [];
    sections['net-peers'].replaceChildren(peers.length ? table({
      id: 'peers', rows: peers, rowAttrs: (p) => ({ 'data-connected': p.connected ? 'true' : 'false' }),
      cols: [['col.peer_id', (p) => h('code', { class: 'wrap', text: p.peer_id ?? '' })], ['col.authority', (p) => fmt(p.authority)],
        ['col.connected', (p) => mark(p.connected, 'net.connected', 'net.disconnected')]],
    }) : h('p', { i18n: 'none' }));
    const logs = Array.isArray(s.logs) ? s.logs : [];
    sections['net-logs'].replaceChildren(logs.length ? table({
      id: 'logs', rows: logs, rowAttrs: (l) => ({ 'data-authority': l.authority }),
      cols: [['col.authority', (l) => fmt(l.authority)], ['col.seq', (l) => fmt(l.seq)], ['col.head', (l) => short(l.head)],
        ['col.entries', (l) => h('button', { type: 'button', class: 'secondary log-entries', 'data-authority': l.authority,
          i18n: 'net.showEntries', on: { click: () => showEntries(String(l.authority ?? ''), Number(l.seq) || 0) } })]],
    }) : h('p', { i18n: 'none' }));
  }
  /** The newest entries of one log; a sealed entry shows as sealed, never its content. */
  let entriesSeq = 0;
  async function showEntries(authority, head) {
    const mine = ++entriesSeq;
    const box = sections['net-entries'];
    box.replaceChildren(h('p', { role: 'status', i18n: 'loading' }));
    const from = Math.max(1, head - ENTRIES_SHOWN + 1);
    try {
      const list = await api('GET', `/v1/log/${seg(authority)}?from=${from}&limit=${ENTRIES_SHOWN}`);
      if (!alive || mine !== entriesSeq) return;
      const rows = (Array.isArray(list) ? list : []).slice().reverse();
      const sealed = rows.filter((e) => e.kind === 'sealed').length;
      box.replaceChildren(
        h('p', { id: 'entries-summary', 'data-authority': authority },
          h('span', { i18n: ['net.entriesOf', { authority, n: rows.length, sealed }] })),
        rows.length ? table({
          id: 'log-entries', rows, rowAttrs: (e) => ({ 'data-seq': e.seq, 'data-kind': e.kind }),
          cols: [['col.seq', (e) => fmt(e.seq)], ['col.date', (e) => raisedAt(e.issued_at)],
            ['col.kind', (e) => entryKind(e.kind)], ['col.hash', (e) => short(e.hash)]],
        }) : h('p', { i18n: 'none' }));
    } catch (ex) {
      if (!alive || mine !== entriesSeq) return;
      box.replaceChildren();
      showError(err, ex);
    }
  }
  function renderEvidence(list) {
    const key = JSON.stringify(list);
    if (key === lastEvidence) return; // re-announcing an unchanged alert every 5 s would drown a screen reader
    lastEvidence = key;
    evidence.replaceChildren(list.length
      ? h('div', { class: 'alert error big', role: 'alert', id: 'equivocation' },
        h('ul', {}, list.map((p) => h('li', { 'data-authority': p.authority, 'data-seq': p.seq },
          '✘ ', h('span', { i18n: ['net.alert', { authority: p.authority, seq: p.seq }] }),
          Array.isArray(p.entries) ? h('span', { class: 'block' }, p.entries.map((x) => [short(x, 24), ' '])) : null))))
      : h('p', { id: 'no-equivocation', class: 'ok-text', role: 'status' }, '✔ ', h('span', { i18n: 'net.noEvidence' })));
  }
  refresh();
  const timer = setInterval(refresh, 5000);
  return () => { alive = false; clearInterval(timer); };
}

// ---------------------------------------------------------------- alerts

/** The kinds `GET /v1/alerts?kind=` accepts today (docs/API.md "Alerts"). */
const ALERT_KINDS = ['shipment.discrepancy', 'shipment.refused', 'shipment.off_route', 'shipment.after_revocation',
  'delivery.overdue', 'serial.repeat', 'import.withdrawn', 'document.invalid', 'equivocation', 'key.compromised',
  'log.cloned', 'party.excluded', 'document.unreadable'];
const ALERTS_PAGE = 50;

/** A kind as a label in the current language, with its code; unknown kinds as their code alone. */
function alertKind(kind) {
  const key = `ak.${kind}`;
  return [t(key) !== key ? h('span', { class: 'kind-label', i18n: key }) : null, h('code', { class: 'kind-code', text: kind ?? '' })];
}

function alertState(open) {
  return h('span', { class: `badge ${open ? 'alert-open' : 'alert-closed'}`, 'data-open': open ? 'true' : 'false' },
    h('span', { 'aria-hidden': 'true' }, open ? '⚠ ' : '✔ '), h('span', { i18n: open ? 'alerts.open' : 'alerts.closed' }));
}

/** RFC 3339 as "YYYY-MM-DD HH:MM UTC" in a <time>; anything else as given. */
function raisedAt(s) {
  const d = new Date(s);
  if (typeof s !== 'string' || Number.isNaN(d.getTime())) return fmt(s);
  return h('time', { datetime: s, title: s }, `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
}

/** Table rows of alerts (appended to by paging). */
function alertRows(list, withLicense = true) {
  return list.map((a) => h('tr', { 'data-id': a.id, 'data-kind': a.kind, 'data-open': a.open ? 'true' : 'false', class: a.open ? 'bad' : '' },
    h('th', { scope: 'row' }, alertKind(a.kind)),
    withLicense ? h('td', {}, a.license ? licenseLink(a.license) : '—') : null,
    h('td', {}, raisedAt(a.raised_at)),
    h('td', { class: 'detail' }, fmt(a.detail)),
    h('td', {}, alertState(a.open))));
}

function alertTable(id, list, withLicense = true) {
  const body = h('tbody', {}, alertRows(list, withLicense));
  const cols = ['col.kind', withLicense ? 'col.license' : null, 'col.raised', 'col.detail', 'col.state'].filter(Boolean);
  const wrap = h('div', { class: 'table-wrap' }, h('table', { id, class: 'alerts' },
    h('thead', {}, h('tr', {}, cols.map((k) => h('th', { scope: 'col', i18n: k })))), body));
  return { wrap, body };
}

function renderLicenseAlerts(alerts) {
  const box = h('section', { id: 'license-alerts', 'aria-labelledby': 'license-alerts-title' },
    h('h3', { id: 'license-alerts-title', i18n: 'alerts.license' }));
  if (!Array.isArray(alerts)) {
    const err = errorBox('license-alerts-error');
    box.append(err);
    showError(err, alerts);
  } else if (!alerts.length) {
    box.append(h('p', { id: 'license-alerts-none', i18n: 'alerts.licenseNone' }));
  } else {
    box.append(alertTable('license-alerts-table', alerts, false).wrap);
  }
  return box;
}

function pageAlerts(view) {
  const err = errorBox('alerts-error');
  const kind = h('select', { id: 'alerts-kind' },
    h('option', { value: '', i18n: 'alerts.allKinds' }),
    ALERT_KINDS.map((k) => h('option', { value: k, i18n: `ak.${k}` })));
  const all = h('input', { id: 'alerts-all', type: 'checkbox' });
  const form = h('form', { id: 'alerts-filters', class: 'card', role: 'search', i18nAttr: { 'aria-label': 'alerts.filters' } },
    h('div', { class: 'grid' },
      field('alerts.kind', kind),
      h('div', { class: 'field end' }, h('div', { class: 'check' }, all, h('label', { for: 'alerts-all', i18n: 'alerts.all' }))),
      h('div', { class: 'field end start' }, h('button', { type: 'submit', id: 'alerts-refresh', class: 'secondary', i18n: 'alerts.refresh' }))));
  const list = h('div', { id: 'alerts-list', 'aria-live': 'polite' });
  const status = h('p', { id: 'alerts-status', class: 'hint', role: 'status' });
  const more = h('button', { type: 'button', id: 'alerts-more', class: 'secondary', hidden: true, i18n: 'alerts.more' });
  let alive = true, gen = 0, last = null, shown = 0, body = null;

  const query = (before) => {
    const q = [`limit=${ALERTS_PAGE}`];
    if (kind.value) q.push(`kind=${seg(kind.value)}`);
    if (all.checked) q.push('all=true');
    if (before) q.push(`before=${seg(before)}`);
    return `/v1/alerts?${q.join('&')}`;
  };
  function page(alerts) {
    if (alerts.length) last = alerts[alerts.length - 1].id;
    shown += alerts.length;
    more.hidden = alerts.length < ALERTS_PAGE;
    status.replaceChildren(h('span', { i18n: ['alerts.shown', { n: shown }] }));
    if (more.hidden && shown) status.append(' ', h('span', { i18n: 'alerts.end' }));
  }
  async function load() {
    const mine = ++gen;
    clearError(err);
    last = null; shown = 0; body = null;
    more.hidden = true;
    list.replaceChildren(h('p', { i18n: 'loading' }));
    try {
      const alerts = await api('GET', query());
      if (!alive || mine !== gen) return;
      const rows = Array.isArray(alerts) ? alerts : [];
      if (!rows.length) {
        list.replaceChildren(h('p', { id: 'alerts-none', i18n: all.checked ? 'alerts.none' : 'alerts.noneOpen' }));
        status.replaceChildren();
        return;
      }
      const tbl = alertTable('alerts', rows);
      body = tbl.body;
      list.replaceChildren(tbl.wrap);
      page(rows);
    } catch (ex) {
      if (!alive || mine !== gen) return;
      list.replaceChildren();
      showError(err, ex);
    }
  }
  more.addEventListener('click', async () => {
    const mine = gen;
    more.disabled = true;
    try {
      const alerts = await api('GET', query(last));
      if (!alive || mine !== gen || !body) return;
      const rows = Array.isArray(alerts) ? alerts : [];
      const added = alertRows(rows);
      body.append(...added);
      page(rows);
      const next = added[0]?.querySelector('th');
      if (next) { next.tabIndex = -1; next.focus(); } else more.focus();
    } catch (ex) {
      if (alive) showError(err, ex);
    } finally {
      more.disabled = false;
    }
  });
  kind.addEventListener('change', load);
  all.addEventListener('change', load);
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); refreshAlertCount(); });

  view.append(pageTitle('alerts.title'), h('p', { class: 'hint', i18n: 'alerts.hint' }), form, err, list, status, more);
  load();
  return () => { alive = false; };
}

// ---------------------------------------------------------------- boot

function boot() {
  const langSel = $('#lang');
  langSel.value = getLang();
  setLang(getLang());
  langSel.addEventListener('change', () => setLang(langSel.value));
  $('#skip').addEventListener('click', (e) => { e.preventDefault(); $('#main').focus(); });
  $('#signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $('#token').value.trim();
    if (v) signIn(v);
  });
  $('#signout').addEventListener('click', () => { token.clear(); showSignin(null); });
  setUnauthorizedHandler(() => showSignin('signin.expired'));
  window.addEventListener('hashchange', () => route(true));
  const saved = token.get();
  if (saved) signIn(saved); else showSignin(null);
}

boot();
