// form-kit.js: what the issue forms are made of. Every control names the
// place of its value in the document by a JSON pointer (data-pointer), so
// one walk builds the document (collect), one fills a form from a document
// (prefill), a 422's details land at their fields (showFaults), and an
// amendment's rules freeze what may not change (form-amend.js). Checks run
// as the officer types; each fault shows at its field (aria-invalid, the
// message tied by aria-describedby). Text from the node is set as text.

import { h } from './dom.js';
import { formatCountry, getLocale, tr } from './i18n.js';

let seq = 0;
export const uid = (p) => `${p}-${++seq}`;

/** Every ISO 3166-1 alpha-2 code (tally_model's list), shown by name in the interface language. */
export const COUNTRIES = ('AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ '
  + 'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR '
  + 'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP '
  + 'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ '
  + 'NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW '
  + 'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ '
  + 'UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW').split(' ');

/** Checks: each answers the key of what is wrong, or null. Empty optional values pass. */
export const CHECK = {
  required: (v) => (String(v).trim() ? null : 'fe.required'),
  number: (v) => (!v || (/^[\x21-\x7e]([\x20-\x7e]{0,62}[\x21-\x7e])?$/.test(v) && !/[?#%]/.test(v) && v !== '.' && v !== '..')
    ? null : 'fe.number'),
  locode: (v) => (!v || /^[A-Z]{2}[A-Z0-9]{3}$/.test(v) ? null : 'fe.locode'),
  hs: (v) => (!v || /^\d{4}(\d{2})?$/.test(v) ? null : 'fe.hs'),
  quantity: (v) => (!v || (/^\d{1,13}$/.test(v) && Number(v) >= 1 && Number(v) <= 1e12) ? null : 'fe.quantity'),
  line: (v) => (!v || (/^\d{1,9}$/.test(v) && Number(v) >= 1) ? null : 'fe.line'),
  date: (v) => (!v || /^\d{4}-\d{2}-\d{2}$/.test(v) ? null : 'fe.date'),
  amount: (v) => (!v || /^\d{1,15}(\.\d{1,4})?$/.test(v) ? null : 'fe.amount'),
  currency: (v) => (!v || /^[A-Z]{3}$/.test(v) ? null : 'fe.currency'),
  authority: (v) => (!v || /^[A-Z]{2}-[A-Z0-9]{2,16}$/.test(v) ? null : 'fe.authority'),
  caliberMm: (v) => (!v || (/^\d{1,3}(\.\d{1,2})?$/.test(v) && Number(v) >= 0.01 && Number(v) <= 200) ? null : 'fe.caliberMm'),
};

/** The message element of a control. */
const errorOf = (el) => el.closest('.field, .check')?.querySelector(':scope > .field-error') || document.getElementById(`${el.id}-error`);

/** Shows `key` (translated) or `text` (a node's message, as text) at the control; nothing clears it. */
export function mark(el, key, text) {
  const box = errorOf(el);
  if (!box) return;
  if (key || text) {
    el.setAttribute('aria-invalid', 'true');
    if (key) tr(box, key); else { delete box.dataset.i18n; box.textContent = text; }
    box.hidden = false;
  } else {
    el.removeAttribute('aria-invalid');
    delete box.dataset.i18n;
    box.textContent = '';
    box.hidden = true;
  }
}

/** Runs a control's checks (a disabled one is not checked); true when it passes. */
export function check(el, withRequired = true) {
  if (el.disabled || !el._checks) return true;
  const v = el.type === 'checkbox' ? el.checked : el.value;
  for (const c of el._checks) {
    if (c === CHECK.required && !withRequired) continue;
    const key = c(v, el);
    if (key) { mark(el, key); return false; }
  }
  mark(el, null);
  return true;
}

/**
 * A labelled control: {id, label (key), pointer, tag: input|select|textarea, type, options: [[value, key|{country}]],
 * checks: [CHECK...], parse: text|upper|int|num|lines|bool, hint (key), value, attrs}.
 * Returns the field's wrapper; the control is `wrapper.control`.
 */
export function control(o) {
  const id = o.id || uid('f');
  const tag = o.tag || (o.options ? 'select' : 'input');
  const described = [o.hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');
  const props = { id, 'aria-describedby': described, autocomplete: 'off', ...o.attrs };
  if (tag === 'input') props.type = o.type || 'text';
  if (o.required || o.checks?.includes(CHECK.required)) props.required = true;
  const el = h(tag, props, o.options ? o.options.map(([v, label]) => option(v, label)) : null);
  if (o.pointer !== undefined) el.dataset.pointer = o.pointer;
  if (o.tpl) el.dataset.tpl = o.tpl;
  el.dataset.parse = o.parse || 'text';
  el._checks = o.checks || [];
  if (o.value !== undefined) el.value = o.value;
  if (el.dataset.parse === 'upper') el.addEventListener('input', () => { el.value = el.value.toUpperCase(); });
  el.addEventListener('input', () => check(el, false));
  el.addEventListener('change', () => check(el, false));
  el.addEventListener('blur', () => check(el, true));
  const box = o.type === 'checkbox' ? h('div', { class: 'check' }, el, h('label', { for: id, i18n: o.label }))
    : h('div', { class: `field${o.cls ? ` ${o.cls}` : ''}` }, h('label', { for: id, i18n: o.label }), el);
  box.append(
    o.hint ? h('p', { class: 'hint', id: `${id}-hint`, i18n: o.hint }) : '',
    h('p', { class: 'field-error', id: `${id}-error`, hidden: true }),
    h('p', { class: 'frozen-note', id: `${id}-frozen`, hidden: true }));
  box.control = el;
  return box;
}

function option(value, label) {
  if (label && typeof label === 'object') return h('option', { value, l10n: label });
  return label ? h('option', { value, i18n: label }) : h('option', { value, text: value });
}

/** A country picker: every code by its name in the interface language, in its order; `blank` adds an empty choice. */
export function countryField(o) {
  const byName = new Intl.Collator(getLocale());
  const opts = COUNTRIES.map((c) => [c, formatCountry(c)]).sort((a, b) => byName.compare(a[1], b[1]))
    .map(([c]) => [c, { country: c }]);
  return control({ ...o, options: o.blank ? [['', o.blank], ...opts] : opts });
}

// ---------------------------------------------------------------- lists (rows added and removed)

/**
 * A fieldset of rows: make(addRow) builds one row's fields (pointers as
 * templates, `#` for the row's index). Registers itself as data-list, so
 * prefill can size it and an amendment freeze its buttons.
 */
export function listOf({ pointer, legend, make, addKey, min = 0, start = 0, cls }) {
  const rows = h('div', { class: 'rows' });
  const add = h('button', { type: 'button', class: 'secondary add', i18n: addKey });
  const fs = h('fieldset', { class: `list${cls ? ` ${cls}` : ''}`, 'data-list': pointer }, h('legend', { i18n: legend }), rows, add);
  const renumber = () => {
    [...rows.children].forEach((row, i) => {
      row.dataset.row = String(i);
      for (const el of row.querySelectorAll('[data-tpl]')) el.dataset.pointer = el.dataset.tpl.replace('#', String(i));
      const rm = row.querySelector(':scope > .row-tools .remove');
      if (rm) rm.disabled = fs.dataset.frozenRemove === 'true' || rows.children.length <= min;
    });
  };
  const addRow = () => {
    const remove = h('button', { type: 'button', class: 'secondary remove', i18n: 'fm.remove' });
    const row = h('div', { class: 'row' }, make(), h('div', { class: 'row-tools' }, remove));
    remove.addEventListener('click', () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      (next?.querySelector('input, select, textarea') || add).focus();
    });
    rows.append(row);
    renumber();
    return row;
  };
  add.addEventListener('click', () => addRow().querySelector('input, select, textarea')?.focus());
  fs._list = {
    pointer,
    count: () => rows.children.length,
    setCount(n) {
      while (rows.children.length > n && rows.children.length > 0) rows.lastElementChild.remove();
      while (rows.children.length < n) addRow();
      renumber();
    },
    freeze(canAdd, canRemove) {
      add.disabled = !canAdd;
      fs.dataset.frozenRemove = String(!canRemove);
      renumber();
    },
  };
  for (let i = 0; i < start; i++) addRow();
  return fs;
}

// ---------------------------------------------------------------- pointers

const unescape = (s) => s.replace(/~1/g, '/').replace(/~0/g, '~');
const segments = (p) => (p ? p.split('/').slice(1).map(unescape) : []);

export function getAt(doc, pointer) {
  return segments(pointer).reduce((v, k) => (v === null || v === undefined ? undefined : v[k]), doc);
}

function setAt(doc, pointer, value) {
  const keys = segments(pointer);
  let v = doc;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) { v[k] = value; return; }
    if (v[k] === undefined) v[k] = /^\d+$/.test(keys[i + 1]) ? [] : {};
    v = v[k];
  });
}

/** An empty value (nothing typed) is left out of the document. */
function prune(v) {
  if (Array.isArray(v)) return v.map(prune).filter((x) => x !== undefined);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) { const p = prune(x); if (p !== undefined) out[k] = p; }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}

function valueOf(el) {
  const raw = el.type === 'checkbox' ? el.checked : el.value;
  switch (el.dataset.parse) {
    case 'bool': return raw ? true : undefined;
    case 'int': return raw.trim() === '' ? undefined : Number(raw);
    case 'num': return raw.trim() === '' ? undefined : Number(raw);
    case 'lines': { const l = raw.split(/\r?\n/).map((s) => s.trim()).filter(Boolean); return l.length ? l : undefined; }
    default: return raw.trim() === '' ? undefined : raw.trim();
  }
}

/** The document the controls under `root` say, empty values left out. */
export function collect(root) {
  const doc = {};
  for (const el of root.querySelectorAll('[data-pointer]')) {
    const v = valueOf(el);
    if (v !== undefined) setAt(doc, el.dataset.pointer, v);
  }
  return prune(doc) || {};
}

/** Fills the controls under `root` from `doc`, first sizing every list to the document's. */
export function prefill(root, doc) {
  for (const fs of root.querySelectorAll('[data-list]')) {
    const arr = getAt(doc, fs._list.pointer);
    fs._list.setCount(Array.isArray(arr) ? arr.length : 0);
  }
  for (const el of root.querySelectorAll('[data-pointer]')) {
    const v = getAt(doc, el.dataset.pointer);
    if (el.type === 'checkbox') el.checked = Boolean(v);
    else if (el.dataset.parse === 'lines') el.value = Array.isArray(v) ? v.join('\n') : '';
    else el.value = v === undefined || v === null ? '' : String(v);
    el.dispatchEvent(new Event('change'));
  }
}

/** The control of `pointer`, or of the nearest pointer above it that has one. */
export function controlAt(root, pointer) {
  let p = String(pointer ?? '');
  while (p) {
    const el = root.querySelector(`[data-pointer="${CSS.escape(p)}"]`);
    if (el) return el;
    p = p.slice(0, p.lastIndexOf('/'));
  }
  return null;
}

/** Clears every message a check or a refusal left under `root`. */
export function clearMarks(root) {
  for (const el of root.querySelectorAll('[aria-invalid="true"]')) mark(el, null);
}

/** Checks every control under `root`; the first that fails, or null. */
export function checkAll(root) {
  let first = null;
  for (const el of root.querySelectorAll('input, select, textarea')) {
    if (!check(el, true) && !first) first = el;
  }
  return first;
}

/**
 * A refusal's faults at their fields: each detail's pointer names a control
 * (or one above it); the message is the node's, set as text. Returns the
 * first control marked, and the faults no control took.
 */
export function showFaults(root, details) {
  let first = null;
  const rest = [];
  for (const d of details || []) {
    const el = controlAt(root, d.pointer);
    if (!el) { rest.push(d); continue; }
    if (el.getAttribute('aria-invalid') !== 'true') mark(el, null, String(d.message || ''));
    if (!first) first = el;
  }
  return { first, rest };
}
