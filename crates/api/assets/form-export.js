// form-export.js: the export license form (docs/API.md "Documents"): the
// exporting country fixed to this node's, the import certificate picked from
// those this node holds for it (with what is left of each; choosing one sets
// the importing country and offers its parties), transit countries, the
// parties, end use and end-user certificate, brokers, consignees, carriers,
// item lines, value, conditions, validity, shipments and place of issue,
// and for a temporary export its purpose and return date (both left blank:
// a permanent export).

import { h } from './dom.js';
import { CHECK, collect, control, countryField, listOf } from './form-kit.js';
import { itemLines } from './form-items.js';
import { numberField, ownCountryField, parties, party, picker, transitCountries, validity } from './form-parts.js';
import { ownCountry } from './common.js';

const MODES = ['road', 'rail', 'sea', 'air', 'post', 'multimodal'];

/** Planned consignments: shipment data, which amendments may change. */
function plans() {
  return listOf({ pointer: '/planned_shipments', legend: 'lic.plans', addKey: 'fm.addPlan', cls: 'plans',
    make: () => h('div', { class: 'grid' },
      control({ tpl: '/planned_shipments/#/exit_point', label: 'lic.exitPoint', parse: 'upper', checks: [CHECK.required] }),
      control({ tpl: '/planned_shipments/#/entry_point', label: 'lic.entryPoint', parse: 'upper', checks: [CHECK.required] }),
      control({ tpl: '/planned_shipments/#/mode', label: 'col.mode', options: MODES.map((m) => [m, `mode.${m}`]) }),
      control({ tpl: '/planned_shipments/#/from', label: 'col.from', type: 'date', checks: [CHECK.required, CHECK.date] }),
      control({ tpl: '/planned_shipments/#/to', label: 'col.to', type: 'date', checks: [CHECK.required, CHECK.date] }),
      control({ tpl: '/planned_shipments/#/carrier', label: 'party.carriers' })) });
}

/** The purposes of a temporary export (docs/API.md), in the order offered. */
export const PURPOSES = ['trade_show', 'repair', 'demonstration', 'hunting', 'competition', 'other'];

/** Fills the empty fields at `pointer` (a party) from `p`. */
function offer(form, pointer, p) {
  if (!p) return;
  for (const k of ['name', 'id', 'address']) {
    const el = form.querySelector(`[data-pointer="${pointer}/${k}"]`);
    if (el && !el.value && p[k]) { el.value = p[k]; el.dispatchEvent(new Event('input')); }
  }
}

export const exportForm = {
  kind: 'export',
  fields() {
    const importing = countryField({ pointer: '/importing_country', label: 'c.import', blank: 'fm.choose',
      checks: [CHECK.required, (v) => (v && v === ownCountry() ? 'fe.sameCountry' : null)], attrs: { class: 'importing' } });
    const box = h('div', { class: 'doc-fields' });
    const ic = picker({
      pointer: '/import_certificate', label: 'lic.importCert', emptyKey: 'fm.noCertificates',
      query: () => `kind=import&exporting=${ownCountry()}&status=active`,
      chosen: (s) => {
        importing.control.value = s.importing_country || '';
        importing.control.dispatchEvent(new Event('change'));
        offer(box, '/importer', s.importer);
        offer(box, '/exporter', s.exporter);
        offer(box, '/end_user', s.end_user);
        const use = box.querySelector('[data-pointer="/end_use"]');
        if (use && !use.value && s.end_use) use.value = s.end_use;
        const until = box.querySelector('[data-pointer="/valid_until"]');
        if (until && s.valid_until && until.value > s.valid_until) { until.value = s.valid_until; until.dispatchEvent(new Event('input')); }
      },
    });
    box.append(
      h('div', { class: 'grid' }, numberField('EXP')),
      h('fieldset', { class: 'route' }, h('legend', { i18n: 'lic.countries' }),
        h('div', { class: 'grid' }, ownCountryField('/exporting_country', 'c.export'), importing),
        ic, transitCountries()),
      party('/exporter', 'party.exporter', true),
      party('/importer', 'party.importer', true),
      party('/end_user', 'party.end_user', true),
      control({ pointer: '/end_use', label: 'lic.end_use' }),
      h('fieldset', { class: 'euc' }, h('legend', { i18n: 'lic.euc' }),
        h('div', { class: 'grid' },
          control({ pointer: '/end_user_certificate/number', label: 'fm.eucNumber', checks: [CHECK.number] }),
          control({ pointer: '/end_user_certificate/date', label: 'fm.eucDate', type: 'date', checks: [CHECK.date] }),
          control({ pointer: '/end_user_certificate/issued_by', label: 'fm.eucIssuedBy' }))),
      parties('/brokers', 'party.brokers', 'fm.addBroker'),
      parties('/consignees', 'party.consignees', 'fm.addConsignee'),
      parties('/carriers', 'party.carriers', 'fm.addCarrier'),
      itemLines(),
      plans(),
      h('fieldset', { class: 'terms' }, h('legend', { i18n: 'fm.terms' }),
        h('div', { class: 'grid' },
          control({ pointer: '/value/amount', label: 'fm.valueAmount', checks: [CHECK.amount], attrs: { inputmode: 'decimal' } }),
          control({ pointer: '/value/currency', label: 'fm.valueCurrency', parse: 'upper', checks: [CHECK.currency], attrs: { maxlength: 3 } }),
          control({ pointer: '/shipments', label: 'lic.shipments', options: [['partial', 'ship.partial'], ['single', 'ship.single']] }),
          control({ pointer: '/place_of_issue', label: 'lic.place_of_issue' })),
        validity(),
        control({ pointer: '/conditions', label: 'lic.conditions', tag: 'textarea', attrs: { rows: 3, class: 'short' } })),
      h('fieldset', { class: 'temporary' }, h('legend', { i18n: 'fm.temporary' }),
        h('p', { class: 'hint', i18n: 'fm.temporaryHint' }),
        h('div', { class: 'grid' },
          control({ pointer: '/temporary/purpose', label: 'lic.purpose',
            options: [['', 'fm.permanent'], ...PURPOSES.map((p) => [p, `purpose.${p}`])] }),
          control({ pointer: '/temporary/return_by', label: 'lic.returnBy', type: 'date', checks: [CHECK.date] }))));
    box.load = () => ic.load();
    return box;
  },
  /** The document the form says; a value needs its currency and the reverse, so half of one is sent as typed. */
  build(form) {
    return { kind: 'export', transit_countries: [], ...collect(form) };
  },
};
