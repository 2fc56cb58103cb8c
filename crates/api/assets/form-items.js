// form-items.js: the item lines of an export license or an import
// certificate (line, category, HS code, description, make, model, caliber,
// quantity, unit, serials typed one per line or loaded from a CSV file, and
// the ATT annual report's fields), added and removed; and a delivery
// verification's lines (line and quantity, with what is left to verify).
// HS headings and units are checked against the category as typed.

import { h } from './dom.js';
import { CHECK, control, countryField, listOf } from './form-kit.js';

const CATEGORIES = ['firearm', 'part', 'ammunition', 'explosive', 'related'];
const UNITS = ['units', 'rounds', 'kg'];
const SUBCATEGORIES = [1, 2, 3, 4, 5, 6].map((n) => `small_arms_${n}`).concat([1, 2, 3, 4, 5, 6, 7].map((n) => `light_weapons_${n}`));
const ACTIONS = ['manual', 'semi_automatic', 'selective_fire'];

/** HS headings (first four digits) per category, as docs/API.md lists them. */
const HEADINGS = {
  firearm: ['9301', '9302', '9303'], part: ['9305'], ammunition: ['9306'],
  explosive: ['3601', '3602', '3603', '3604'], related: ['9304', '9307'],
};
/** Units per category; related material may be counted in any. */
const UNITS_OF = { firearm: ['units'], part: ['units'], ammunition: ['rounds', 'kg'], explosive: ['kg'], related: UNITS };

const sibling = (el, cls) => el.closest('.row')?.querySelector(`.${cls}`);

function headingFits(v, el) {
  const cat = sibling(el, 'item-category')?.value;
  return !v || !cat || !/^\d{4}/.test(v) || HEADINGS[cat].includes(v.slice(0, 4)) ? null : 'fe.hsCategory';
}

function unitFits(v, el) {
  const cat = sibling(el, 'item-category')?.value;
  return !cat || UNITS_OF[cat].includes(v) ? null : 'fe.unitCategory';
}

function serialsFit(v, el) {
  const list = String(v).split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (new Set(list).size !== list.length) return 'fe.serialTwice';
  const q = Number(sibling(el, 'item-quantity')?.value || 0);
  return q && list.length > q ? 'fe.serialsOver' : null;
}

function attOnFirearm(v, el) {
  return !v || sibling(el, 'item-category')?.value === 'firearm' ? null : 'fe.attFirearm';
}

/** The first cell of each row of a CSV text (`,` or `;`), quotes removed, a header row skipped. */
export function csvSerials(text) {
  return String(text).split(/\r?\n/)
    .map((row) => row.split(/[;,\t]/)[0].trim().replace(/^"(.*)"$/, '$1').trim())
    .filter((cell, i) => cell && !(i === 0 && /serial|série|serie/i.test(cell)));
}

/** A CSV file's serials added to the line's list (each once). */
function csvLoader(serials) {
  const input = h('input', { type: 'file', accept: '.csv,.txt,text/csv,text/plain', class: 'item-csv' });
  input.id = `${serials.id}-csv`;
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    const have = serials.value.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
    const added = csvSerials(await file.text()).filter((s) => !have.includes(s));
    serials.value = [...have, ...added].join('\n');
    serials.dispatchEvent(new Event('change'));
    input.value = '';
  });
  return h('div', { class: 'field' }, h('label', { for: input.id, i18n: 'fm.serialsCsv' }), input);
}

/** One item line's fields; `att` adds the ATT report's. */
function itemRow(base, att) {
  const f = (name, o) => control({ tpl: `${base}/#/${name}`, cls: `f-${name}`, ...o, attrs: { class: `item-${name}`, ...o.attrs } });
  const line = f('line', { label: 'col.line', parse: 'int', checks: [CHECK.required, CHECK.line], attrs: { inputmode: 'numeric', class: 'item-line' } });
  const category = f('category', { label: 'col.category', options: CATEGORIES.map((c) => [c, `cat.${c}`]) });
  const unit = f('unit', { label: 'fm.unit', options: UNITS.map((u) => [u, `unit.${u}`]), checks: [unitFits] });
  const quantity = f('quantity', { label: 'col.quantity', parse: 'int', checks: [CHECK.required, CHECK.quantity], attrs: { inputmode: 'numeric', class: 'item-quantity' } });
  const serials = f('serials', { label: 'fm.serials', tag: 'textarea', parse: 'lines', checks: [serialsFit], hint: 'fm.serialsHint', attrs: { rows: 3, spellcheck: 'false', class: 'item-serials mono' } });
  const hs = f('hs_code', { label: 'col.hs', checks: [CHECK.hs, headingFits], hint: 'fm.hsHint', attrs: { inputmode: 'numeric', class: 'item-hs_code' } });
  // A category changed: its HS heading and unit are checked again.
  category.control.addEventListener('change', () => {
    for (const el of [hs.control, unit.control]) el.dispatchEvent(new Event('input'));
    const fits = UNITS_OF[category.control.value];
    if (!fits.includes(unit.control.value) && !unit.control.disabled) { unit.control.value = fits[0]; unit.control.dispatchEvent(new Event('input')); }
  });
  quantity.control.addEventListener('input', () => serials.control.dispatchEvent(new Event('input')));
  const fields = [
    h('div', { class: 'grid' }, line, category, hs, f('description', { label: 'col.description' })),
    h('div', { class: 'grid' }, f('make', { label: 'col.make' }), f('model', { label: 'col.model' }), f('caliber', { label: 'col.caliber' })),
    h('div', { class: 'grid' }, quantity, unit),
    h('div', { class: 'grid' }, serials, csvLoader(serials.control)),
  ];
  if (att) {
    fields.push(h('div', { class: 'grid att' },
      f('att_subcategory', { label: 'fm.attSub', options: [['', 'fm.none'], ...SUBCATEGORIES.map((s) => [s, `fm.${s}`])], checks: [attOnFirearm] }),
      f('action', { label: 'fm.action', options: [['', 'fm.none'], ...ACTIONS.map((a) => [a, `fm.${a}`])], checks: [attOnFirearm] }),
      f('caliber_mm', { label: 'fm.caliberMm', parse: 'num', checks: [CHECK.caliberMm], attrs: { inputmode: 'decimal' } }),
      countryField({ tpl: `${base}/#/origin_country`, label: 'fm.origin', blank: 'fm.none' })));
  }
  return h('div', { class: 'item' }, ...fields);
}

/** The item lines of an export license or import certificate, one line to start. */
export function itemLines({ att = true } = {}) {
  const list = listOf({ pointer: '/items', legend: 'lic.items', addKey: 'item.add', min: 1, cls: 'items',
    make: () => itemRow('/items', att) });
  // A new line takes the next number.
  const rows = list.querySelector('.rows');
  new MutationObserver(() => {
    [...rows.children].forEach((row, i) => {
      const line = row.querySelector('.item-line');
      if (line && !line.value && !line.disabled) line.value = String(i + 1);
    });
  }).observe(rows, { childList: true });
  list._list.setCount(1);
  [...rows.children].forEach((row, i) => { row.querySelector('.item-line').value = String(i + 1); });
  return list;
}

/**
 * A delivery verification's lines, one per line of the chosen export
 * license with what is left to verify (recorded entering minus delivered).
 */
export function deliveryLines(lines) {
  const rows = lines.map((l, i) => {
    const q = control({ pointer: `/items/${i}/quantity`, label: 'fm.deliveredQty', parse: 'int',
      checks: [CHECK.quantity, (v) => (!v || Number(v) <= (l.undelivered ?? 0) ? null : 'fe.overLeft')],
      attrs: { inputmode: 'numeric', class: 'item-quantity' }, value: '' });
    const line = h('input', { type: 'hidden', value: String(l.line) });
    line.dataset.pointer = `/items/${i}/line`;
    line.dataset.parse = 'int';
    return h('div', { class: 'row delivery-line', 'data-line': String(l.line) },
      h('p', { class: 'line-facts' },
        h('strong', { i18n: ['fm.lineOf', { line: l.line }] }), ' ',
        h('span', { text: [l.description, l.make, l.model].filter(Boolean).join(' · ') }), ' ',
        h('span', { class: 'sub', i18n: ['fm.leftToVerify', { entry: { num: l.entry ?? 0 }, delivered: { num: l.delivered ?? 0 }, left: { num: l.undelivered ?? 0 } }] })),
      line, q);
  });
  return h('fieldset', { class: 'list items' }, h('legend', { i18n: 'lic.items' }), ...rows);
}

/** A delivery's lines with a quantity: those left empty are not delivered in it. */
export function deliveredOnly(doc) {
  if (Array.isArray(doc.items)) doc.items = doc.items.filter((it) => it.quantity !== undefined);
  return doc;
}
