// form-parts.js: the parts several issue forms share: a party (name,
// official id, address), lists of parties, the document number, validity,
// a country fixed to this node's, transit countries, and the picker of a
// document this node holds (filled from GET /v1/licenses, with what is left
// of each) that writes its reference into the form.

import { api } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { CHECK, control, countryField, listOf, uid } from './form-kit.js';
import { ownCountry, today, plusDays } from './common.js';

/** A party at `pointer`: {name, id, address}; `required` makes the name required. */
export function party(pointer, legend, required = false) {
  return h('fieldset', { class: 'party', 'data-party': pointer }, h('legend', { i18n: legend }),
    h('div', { class: 'grid' },
      control({ pointer: `${pointer}/name`, label: 'fm.partyName', checks: required ? [CHECK.required] : [] }),
      control({ pointer: `${pointer}/id`, label: 'fm.partyId', hint: 'fm.partyIdHint' })),
    control({ pointer: `${pointer}/address`, label: 'fm.partyAddress', tag: 'textarea', attrs: { rows: 2, class: 'short' } }));
}

/** A list of parties at `pointer` (brokers, consignees, carriers). */
export function parties(pointer, legend, addKey) {
  return listOf({ pointer, legend, addKey, cls: 'parties',
    make: () => h('div', { class: 'grid' },
      control({ tpl: `${pointer}/#/name`, label: 'fm.partyName', checks: [CHECK.required] }),
      control({ tpl: `${pointer}/#/id`, label: 'fm.partyId' }),
      control({ tpl: `${pointer}/#/address`, label: 'fm.partyAddress' })) });
}

/** The document number, with a suggestion in the authority's usual form. */
export function numberField(prefix) {
  const n = `${prefix}-${today().slice(0, 4)}-${String(Math.floor(Math.random() * 9000) + 1000)}`;
  return control({ pointer: '/number', label: 'fm.number', value: n, checks: [CHECK.required, CHECK.number],
    hint: 'fm.numberHint', cls: 'number', attrs: { spellcheck: 'false', class: 'doc-number' } });
}

/** valid_from .. valid_until, today to 180 days by default; until never before from. */
export function validity() {
  const from = control({ pointer: '/valid_from', label: 'fm.validFrom', type: 'date', value: today(), checks: [CHECK.required, CHECK.date] });
  const until = control({ pointer: '/valid_until', label: 'fm.validUntil', type: 'date', value: plusDays(180),
    checks: [CHECK.required, CHECK.date, (v) => (v && from.control.value && v < from.control.value ? 'fe.untilBeforeFrom' : null)] });
  from.control.addEventListener('change', () => until.control.dispatchEvent(new Event('input')));
  return h('div', { class: 'grid' }, from, until);
}

/** A country fixed to this node's: shown by name, carried at `pointer`. */
export function ownCountryField(pointer, label) {
  const id = uid('own');
  const input = h('input', { type: 'hidden', id, value: ownCountry() });
  input.dataset.pointer = pointer;
  return h('div', { class: 'field fixed' }, h('span', { class: 'label', i18n: label }),
    h('span', { class: 'fixed-value', l10n: { country: ownCountry() } }), input);
}

/** Transit countries added and removed; never this node's country nor the importing one. */
export function transitCountries(pointer = '/transit_countries') {
  return listOf({ pointer, legend: 'c.transits', addKey: 'fm.addTransit', cls: 'transits',
    make: () => countryField({ tpl: `${pointer}/#`, label: 'c.transit', checks: [CHECK.required,
      (v, el) => {
        if (v === ownCountry()) return 'fe.transitOwn';
        const all = [...el.closest('fieldset').querySelectorAll('select')].map((s) => s.value);
        return all.filter((c) => c === v).length > 1 ? 'fe.transitTwice' : null;
      }], blank: 'fm.choose' }) });
}

/** A port or crossing as UN/LOCODE; `country`, when given, must be its first two letters. */
export function portField(pointer, label, country) {
  return control({ pointer, label, parse: 'upper', hint: 'fm.locodeHint',
    checks: [CHECK.locode, (v) => (!v || !country || v.slice(0, 2) === country() ? null : 'fe.locodeCountry')],
    attrs: { maxlength: 5, spellcheck: 'false', class: 'locode' } });
}

/** What a summary has left, in words: an import certificate's allocation, an export's lines to verify. */
function leftText(s) {
  if (Array.isArray(s.allocation)) {
    return s.allocation.map((a) => t('fm.leftOf', { left: { num: a.left }, unit: t(`unit.${a.unit}`), category: t(`cat.${a.category}`) })).join('; ');
  }
  const lines = (s.lines || []).filter((l) => (l.undelivered ?? 0) > 0);
  return lines.map((l) => t('fm.lineLeft', { line: l.line, left: { num: l.undelivered } })).join('; ');
}

/**
 * A picker of documents this node holds (`query` for GET /v1/licenses), each
 * with what is left of it; choosing one writes its authority and number at
 * `pointer` and calls `chosen(summary)`. The reference stays editable (a
 * document of an authority this node does not trust cannot be listed).
 */
export function picker({ pointer, label, query, chosen, emptyKey, typed = true }) {
  const id = uid('pick');
  const sel = h('select', { id, class: 'picker', 'aria-describedby': `${id}-status` });
  const status = h('p', { class: 'hint', id: `${id}-status`, role: 'status', i18n: 'loading' });
  const auth = control({ pointer: `${pointer}/authority`, label: 'fm.refAuthority', parse: 'upper',
    checks: [CHECK.required, CHECK.authority], attrs: { spellcheck: 'false', class: 'ref-authority', readOnly: !typed } });
  const num = control({ pointer: `${pointer}/number`, label: 'fm.refNumber', checks: [CHECK.required, CHECK.number],
    attrs: { spellcheck: 'false', class: 'ref-number', readOnly: !typed } });
  let found = [];
  sel.addEventListener('change', () => {
    const s = found[Number(sel.value)];
    if (!s) return;
    auth.control.value = s.authority;
    num.control.value = s.number;
    for (const el of [auth.control, num.control]) el.dispatchEvent(new Event('input'));
    chosen?.(s);
  });
  const box = h('fieldset', { class: 'picked' }, h('legend', { i18n: label }),
    h('div', { class: 'field' }, h('label', { for: id, i18n: 'fm.pick' }), sel, status),
    h('div', { class: 'grid' }, auth, num));
  box.load = async () => {
    sel.replaceChildren(h('option', { value: '', i18n: 'fm.choose' }));
    try {
      const page = await api('GET', `/v1/licenses?${query()}&limit=200`);
      found = Array.isArray(page?.licenses) ? page.licenses : [];
    } catch {
      found = [];
    }
    found.forEach((s, i) => {
      const left = leftText(s);
      sel.append(h('option', { value: String(i), text: `${s.authority} ${s.number}${left ? ` — ${left}` : ''}` }));
    });
    status.dataset.count = String(found.length);
    if (found.length) status.replaceChildren(h('span', { i18n: ['fm.found', { n: { num: found.length } }] }));
    else status.replaceChildren(h('span', { i18n: emptyKey }));
  };
  box.summaries = () => found;
  return box;
}
