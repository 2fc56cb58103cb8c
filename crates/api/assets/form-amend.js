// form-amend.js: amending one of this node's documents, and revoking one to
// issue it again. The amendment opens the current version in its kind's
// form; the node says what may change, pointer by pointer
// (GET .../amendable, the amendment rules' own table), and every frozen
// field is shown disabled with the reason. Parties never change by
// amendment: "revoke and reissue" revokes the document with a reason, then
// opens its kind's form filled from it under a new number.

import { api, seg } from './api.js';
import { h, field, errorBox, showError, clearError } from './dom.js';
import { t } from './i18n.js';
import { CHECK, mark, prefill } from './form-kit.js';
import { amendPath, sendOnSubmit } from './form-submit.js';
import { ownAuthority } from './common.js';

/** The reasons the console words itself, by the rule's pointer; others show the node's words. */
const WHY = {
  '/kind': 'kind', '/number': 'number', '/valid_from': 'validity', '/valid_until': 'validity',
  '/migrated': 'migration', '/original_issue_date': 'migration',
  '/exporting_country': 'countries', '/importing_country': 'countries', '/transit_country': 'transitRef', '/export_license': 'transitRef',
  '/transit_countries': 'transits', '/exporter': 'parties', '/importer': 'parties', '/end_user': 'parties', '/end_use': 'parties',
  '/import_certificate': 'certificate', '/conditions': 'conditions', '/brokers': 'brokers', '/end_user_certificate': 'euc',
  '/value': 'value', '/place_of_issue': 'place', '/shipments': 'shipments', '/single_use': 'singleUse', '/decision': 'decision',
  '/carriers': 'shipmentData', '/consignees': 'shipmentData', '/entry_point': 'ports', '/exit_point': 'ports',
  '/items': 'items', '/items/*': 'line', '/items/*/quantity': 'lower', '': 'delivery',
};
const whyKey = (rule) => (rule && WHY[rule.pointer] !== undefined ? `why.${WHY[rule.pointer]}` : null);

/** The most specific rule covering `pointer` (`*` any index), as the node's amendable_at. */
export function ruleFor(rules, pointer) {
  const have = pointer.split('/');
  const covers = (p) => !p || p.split('/').every((s, i) => have[i] !== undefined && (s === '*' || s === have[i]));
  return rules.filter((r) => covers(r.pointer)).sort((a, b) => b.pointer.length - a.pointer.length)[0] || null;
}

function note(el, rule) {
  const box = el.closest('.field, .check')?.querySelector(':scope > .frozen-note');
  if (!box) return;
  const key = whyKey(rule);
  box.replaceChildren(h('span', { 'aria-hidden': 'true' }, '⊘ '), key ? h('span', { i18n: key }) : h('span', { text: rule?.reason || t('why.default') }));
  box.hidden = false;
  el.setAttribute('aria-describedby', `${el.getAttribute('aria-describedby') || ''} ${box.id}`.trim());
}

/** Applies the node's rules to a form filled with the current version. */
export function freeze(root, rules, floors) {
  for (const fs of root.querySelectorAll('[data-list]')) {
    const c = ruleFor(rules, fs._list.pointer)?.change ?? 'frozen';
    fs._list.freeze(c === 'free', c === 'free' || c === 'remove_only');
  }
  const noted = new Set();
  for (const el of root.querySelectorAll('[data-pointer]')) {
    const rule = ruleFor(rules, el.dataset.pointer);
    const change = rule?.change ?? 'frozen';
    el.dataset.change = change;
    if (change === 'free') continue;
    const was = el.value;
    if (change === 'lower') {
      const min = floors.find((f) => f.pointer === el.dataset.pointer)?.min ?? 1;
      el._checks = [CHECK.required, CHECK.quantity, (v) => (Number(v) > Number(was) ? 'fe.raise' : Number(v) < Math.max(1, min) ? 'fe.belowUsed' : null)];
      el.setAttribute('max', was);
      continue;
    }
    if (change === 'later' || change === 'earlier') {
      el.setAttribute(change === 'later' ? 'min' : 'max', was);
      el._checks = [CHECK.required, CHECK.date, (v) => ((change === 'later' ? v < was : v > was) ? 'fe.lengthen' : null)];
      continue;
    }
    el.disabled = true;
    mark(el, null);
    // One note per reason and group: the first frozen field of a party or line says why.
    const group = el.closest('.row, fieldset') || root;
    const key = `${rule?.reason}|${[...root.querySelectorAll('.row, fieldset')].indexOf(group)}`;
    if (!noted.has(key)) { noted.add(key); note(el, rule); }
  }
  // Nothing to pick: the reference is the one issued.
  for (const el of root.querySelectorAll('select.picker')) { el.disabled = true; el.closest('.field').hidden = true; }
  for (const el of root.querySelectorAll('.item-csv')) el.disabled = el.closest('.item')?.querySelector('.item-serials')?.disabled ?? true;
}

/** The amendment panel: pick or type one of this node's documents, open it, change what may change. */
export function amendPanel(forms) {
  const err = errorBox('amend-error');
  const result = h('div', { id: 'amend-result', role: 'status' });
  const list = h('datalist', { id: 'amend-numbers' });
  const num = h('input', { id: 'amend-number', required: true, autocomplete: 'off', spellcheck: 'false', list: 'amend-numbers' });
  const why = h('div', { id: 'amend-why', class: 'alert warn', role: 'status', hidden: true });
  const body = h('div', { id: 'amend-body' });
  const open = h('form', { id: 'amend-open', class: 'card' },
    h('div', { class: 'grid' }, field('fm.amendNumber', num, 'fm.amendHint'),
      h('div', { class: 'field end' }, h('button', { type: 'submit', id: 'amend-load', i18n: 'fm.open' }))));
  open.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(err);
    why.hidden = true;
    body.replaceChildren();
    result.replaceChildren();
    try {
      const a = await api('GET', `/v1/licenses/${seg(ownAuthority())}/${seg(num.value.trim())}/amendable`);
      if (!a.amendable) {
        why.replaceChildren(h('p', {}, h('strong', { i18n: 'fm.notAmendable' }), ' ', h('span', { text: a.reason || '' })));
        why.hidden = false;
        return;
      }
      body.replaceChildren(amendForm(forms[a.kind], a, err, result));
      body.querySelector('input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled])')?.focus();
    } catch (ex) { showError(err, ex); }
  });
  const panel = h('div', {}, h('p', { class: 'hint', i18n: 'fm.amendIntro' }), open, why, body, err, result);
  panel.load = async () => {
    try {
      const page = await api('GET', `/v1/licenses?authority=${seg(ownAuthority())}&limit=200`);
      list.replaceChildren(...(page?.licenses || []).filter((s) => s.status !== 'revoked' && s.kind !== 'delivery')
        .map((s) => h('option', { value: s.number })));
    } catch { /* typed by hand */ }
  };
  panel.append(list);
  return panel;
}

function amendForm(kindForm, a, err, result) {
  const fields = kindForm.fields();
  const form = h('form', { id: 'amend-form', class: 'card', novalidate: true },
    h('h2', { i18n: ['fm.amending', { number: a.number, version: a.version + 1 }] }),
    h('p', { class: 'hint', i18n: 'fm.frozenHint' }), fields,
    h('button', { type: 'submit', id: 'amend-submit', class: 'primary', i18n: 'fm.amendSubmit' }));
  prefill(fields, a.document);
  freeze(fields, a.rules || [], a.floors || []);
  sendOnSubmit(form, { errBox: err, result, build: () => carryOver(a.document, kindForm.build(fields), fields), path: amendPath(ownAuthority),
    authority: ownAuthority, amending: () => true });
  return form;
}

/**
 * What the form has no field for (a migrated record's origin, a line's
 * crossings before Tally, who prepared it) goes into the amendment as the
 * current version has it, so the amendment changes only what was edited.
 */
export function carryOver(current, doc, root) {
  const covered = (p) => Boolean(root.querySelector(`[data-pointer="${CSS.escape(p)}"], [data-pointer^="${CSS.escape(`${p}/`)}"], [data-list="${CSS.escape(p)}"]`));
  for (const [k, v] of Object.entries(current || {})) {
    if (doc[k] === undefined && !covered(`/${k}`)) doc[k] = v;
  }
  if (Array.isArray(current?.items) && Array.isArray(doc.items) && current.items.length === doc.items.length) {
    current.items.forEach((it, i) => {
      for (const [k, v] of Object.entries(it || {})) {
        if (doc.items[i][k] === undefined && !covered(`/items/${i}/${k}`)) doc.items[i][k] = v;
      }
    });
  }
  return doc;
}

/** A new number for a reissue: the old one with -R1 (-R2 after an -R1, ...). */
export function reissueNumber(n) {
  const m = /^(.*)-R(\d+)$/.exec(n);
  return (m ? `${m[1]}-R${Number(m[2]) + 1}` : `${n}-R1`).slice(0, 64);
}

/** Revoke and reissue: revokes with a reason (confirmed), then `reissue(kind, document)`. */
export function reissuePanel(reissue) {
  const err = errorBox('reissue-error');
  const result = h('div', { id: 'reissue-result', role: 'status' });
  const num = h('input', { id: 'reissue-number', required: true, autocomplete: 'off', spellcheck: 'false', list: 'amend-numbers' });
  const reason = h('input', { id: 'reissue-reason', required: true, autocomplete: 'off' });
  const confirmBox = h('div', { id: 'reissue-confirm', class: 'alert warn', hidden: true });
  const form = h('form', { id: 'reissue-form', class: 'card' },
    h('h2', { id: 'reissue-title', i18n: 'fm.reissueTitle' }), h('p', { class: 'hint', i18n: 'fm.reissueHint' }),
    h('div', { class: 'grid' }, field('f.number', num), field('f.reason', reason)),
    h('button', { type: 'submit', id: 'reissue-submit', class: 'danger', i18n: 'fm.reissueSubmit' }), confirmBox);
  async function go(n) {
    confirmBox.hidden = true;
    const path = `/v1/licenses/${seg(ownAuthority())}/${seg(n)}`;
    const body = { status: 'revoked', reason: reason.value.trim() };
    try {
      const lic = await api('GET', path);
      await api('POST', `${path}/status?dry_run=true`, body);
      await api('POST', `${path}/status`, body);
      result.replaceChildren(h('p', { class: 'ok-text' }, '✔ ', h('span', { i18n: ['fm.revokedNow', { number: n }] })));
      reissue(lic.kind, { ...lic.document, number: reissueNumber(n) });
    } catch (ex) { showError(err, ex); }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearError(err);
    result.replaceChildren();
    const n = num.value.trim();
    const yes = h('button', { type: 'button', id: 'reissue-confirm-yes', class: 'danger', i18n: 'st.confirmYes', on: { click: () => go(n) } });
    confirmBox.replaceChildren(h('p', {}, '⚠ ', h('span', { i18n: ['st.confirm', { authority: ownAuthority(), number: n }] })),
      h('div', { class: 'buttons' }, yes, h('button', { type: 'button', class: 'secondary', i18n: 'st.cancel',
        on: { click: () => { confirmBox.hidden = true; num.focus(); } } })));
    confirmBox.hidden = false;
    yes.focus();
  });
  return h('section', { 'aria-labelledby': 'reissue-title' }, form, err, result);
}
