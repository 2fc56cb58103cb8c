// issue.js: the Issue page (#/issue, #/issue/AUTH/NUMBER): a form for
// every document an authority signs (export license, import certificate,
// transit authorization, delivery verification), amendments, status changes
// with "revoke and reissue", and the JSON editor as an advanced tab. Tabs
// follow the ARIA tabs pattern (arrow keys, Home, End). Every write is a
// dry run first (form-submit.js).

import { api, seg } from './api.js';
import { t } from './i18n.js';
import { h, field, errorBox, showError, clearError } from './dom.js';
import { prefill } from './form-kit.js';
import { exportForm } from './form-export.js';
import { importForm, transitForm, deliveryForm } from './form-others.js';
import { denialForm } from './form-denial.js';
import { enduseRequestForm } from './form-enduse.js';
import { amendPanel, reissuePanel } from './form-amend.js';
import { amendPath, issuePath, sendOnSubmit } from './form-submit.js';
import { ownAuthority, ownCountry, today, plusDays, licenseHref, pageTitle } from './common.js';

const FORMS = { export: exportForm, import: importForm, transit: transitForm, delivery: deliveryForm, denial: denialForm,
  enduse_request: enduseRequestForm };

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
  if (kind === 'denial') {
    return { kind, number: `DEN-${year}-${rnd}`, denying_country: cc, destination: partner,
      applicant: exporter, end_user: { name: 'Comercial Armas del Sur, S.A. de C.V.' },
      goods: [{ category: 'firearm', hs_heading: '9302', description: 'pistols' }],
      criterion: 'ATT Art. 7(1): risk of diversion', date: today() };
  }
  if (kind === 'enduse_request') {
    return { kind, number: `EUR-${year}-${rnd}`, exporting_country: cc, importing_country: partner,
      export_license: `EXP-${year}-0001`, end_user_certificate: { number: `EUC-${year}-118`, date: today(), issued_by: 'SEDENA' },
      date: today() };
  }
  if (kind === 'enduse_answer') {
    return { kind, number: `RES-${year}-${rnd}`, importing_country: cc, exporting_country: partner,
      request: { authority: `${partner}-AUTH`, number: `EUR-${year}-0001` }, answer: 'confirmed', date: today() };
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

/** A kind's form: its fields, the dry run and the signature. */
function kindPanel(kindForm) {
  const k = kindForm.kind;
  const err = errorBox(`error-${k}`);
  const result = h('div', { id: `result-${k}`, role: 'status' });
  const fields = kindForm.fields();
  const form = h('form', { id: `form-${k}`, class: 'card doc-form', novalidate: true, 'data-kind': k },
    h('p', { class: 'hint', i18n: 'fm.required' }), fields,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', id: `submit-${k}`, class: 'primary', i18n: 'fm.submit' })),
    h('p', { class: 'hint', i18n: 'fm.dryRunHint' }));
  sendOnSubmit(form, { errBox: err, result, build: () => kindForm.build(fields), path: issuePath,
    authority: ownAuthority, amending: () => false, after: () => fields.load() });
  const panel = h('div', {}, form, err, result);
  panel.load = () => fields.load();
  panel.fill = (doc) => { prefill(fields, doc); clearError(err); result.replaceChildren(); };
  return panel;
}

/** The advanced tab: a document as JSON, the same dry run first. */
function jsonPanel() {
  const err = errorBox('issue-error');
  const result = h('div', { id: 'issue-result', role: 'status' });
  const kind = h('select', { id: 'issue-kind' }, ['export', 'import', 'transit', 'delivery', 'denial', 'enduse_request', 'enduse_answer'].map((k) => h('option', { value: k, i18n: `kind.${k}` })));
  const text = h('textarea', { id: 'issue-json', rows: 22, spellcheck: 'false', autocomplete: 'off', class: 'mono' });
  text._checks = [(v) => { try { JSON.parse(v); return null; } catch { return 'err.local_json'; } }];
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
  sendOnSubmit(form, { errBox: err, result, build: () => JSON.parse(text.value),
    path: (doc) => (amend.checked ? amendPath(ownAuthority)(doc) : issuePath()), authority: ownAuthority, amending: () => amend.checked });
  load();
  const panel = h('div', {}, form, err, result);
  panel.load = () => {};
  return panel;
}

const TABS = ['export', 'import', 'transit', 'delivery', 'denial', 'enduse_request', 'amend', 'status', 'json'];

export function pageIssue(view, [auth = '', num = '']) {
  const panels = {};
  const tabs = {};
  const list = h('div', { role: 'tablist', id: 'issue-tabs', class: 'tabs', i18nAttr: { 'aria-label': 'fm.tabs' } });
  const select = (name, focus) => {
    for (const n of TABS) {
      const on = n === name;
      tabs[n].setAttribute('aria-selected', String(on));
      tabs[n].tabIndex = on ? 0 : -1;
      panels[n].hidden = !on;
    }
    panels[name].load?.();
    if (focus) tabs[name].focus();
  };
  const reissue = (kind, doc) => {
    select(kind, false);
    panels[kind].fill(doc);
    panels[kind].querySelector('.doc-number')?.focus();
  };
  for (const n of TABS) {
    tabs[n] = h('button', { type: 'button', role: 'tab', id: `tab-${n}`, 'aria-controls': `panel-${n}`, i18n: `fm.tab_${n}`,
      on: { click: () => select(n, false) } });
    list.append(tabs[n]);
    const inner = FORMS[n] ? kindPanel(FORMS[n]) : n === 'amend' ? amendPanel(FORMS)
      : n === 'status' ? h('div', {}, statusForm(auth || ownAuthority(), num), reissuePanel(reissue)) : jsonPanel();
    panels[n] = h('section', { role: 'tabpanel', id: `panel-${n}`, 'aria-labelledby': `tab-${n}` }, inner);
    panels[n].load = inner.load;
    panels[n].fill = inner.fill;
  }
  list.addEventListener('keydown', (e) => {
    const i = TABS.indexOf(e.target.id.replace('tab-', ''));
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[e.key];
    if (to === undefined || i < 0) return;
    e.preventDefault();
    select(TABS[(to + TABS.length) % TABS.length], true);
  });
  view.append(pageTitle('issue.title'), h('p', { class: 'hint', i18n: ['issue.hint', { country: { country: ownCountry() } }] }),
    list, ...TABS.map((n) => panels[n]));
  select(num ? 'status' : 'export', false);
  if (num) view.querySelector('#status-reason').focus();
}

function statusForm(auth, num) {
  const err = errorBox('status-error');
  const result = h('div', { id: 'status-result', role: 'status' });
  const confirmBox = h('div', { id: 'revoke-confirm', class: 'alert warn', hidden: true });
  const form = h('form', { id: 'status-form', class: 'card' },
    h('h2', { id: 'status-title', i18n: 'st.title' }),
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
  return h('section', { 'aria-labelledby': 'status-title' }, form, err, result);
}
