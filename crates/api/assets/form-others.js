// form-others.js: the import certificate, transit authorization and
// delivery verification forms. The issuing country is always this node's.
// A transit authorization covers an export license this node holds that
// lists this country as transit (picked, with its validity offered); a
// delivery verification one whose goods were recorded entering this
// country, with what is left to verify per line.

import { h } from './dom.js';
import { CHECK, collect, control, countryField } from './form-kit.js';
import { deliveredOnly, deliveryLines, itemLines } from './form-items.js';
import { numberField, ownCountryField, party, picker, portField, validity } from './form-parts.js';
import { ownCountry, today } from './common.js';

export const importForm = {
  kind: 'import',
  fields() {
    const box = h('div', { class: 'doc-fields' },
      h('div', { class: 'grid' }, numberField('IC')),
      h('fieldset', { class: 'route' }, h('legend', { i18n: 'lic.countries' }),
        h('div', { class: 'grid' }, ownCountryField('/importing_country', 'c.import'),
          countryField({ pointer: '/exporting_country', label: 'c.export', blank: 'fm.choose',
            checks: [CHECK.required, (v) => (v && v === ownCountry() ? 'fe.sameCountry' : null)] }))),
      party('/importer', 'party.importer', true),
      party('/exporter', 'party.exporter', true),
      party('/end_user', 'party.end_user'),
      control({ pointer: '/end_use', label: 'lic.end_use' }),
      itemLines({ att: true }),
      h('fieldset', { class: 'terms' }, h('legend', { i18n: 'fm.terms' }), validity(),
        control({ pointer: '/single_use', label: 'fm.singleUse', type: 'checkbox', parse: 'bool' })));
    box.load = () => {};
    return box;
  },
  build: (form) => ({ kind: 'import', ...collect(form) }),
};

export const transitForm = {
  kind: 'transit',
  fields() {
    const box = h('div', { class: 'doc-fields' });
    const lic = picker({
      pointer: '/export_license', label: 'lic.exportLicense', emptyKey: 'fm.noTransitExports',
      query: () => `kind=export&transit=${ownCountry()}&status=active`,
      chosen: (s) => {
        for (const k of ['valid_from', 'valid_until']) {
          const el = box.querySelector(`[data-pointer="/${k}"]`);
          if (el && s[k]) { el.value = s[k]; el.dispatchEvent(new Event('input')); }
        }
      },
    });
    box.append(
      h('div', { class: 'grid' }, numberField('TR')),
      h('div', { class: 'grid' }, ownCountryField('/transit_country', 'c.transit')),
      lic,
      h('fieldset', { class: 'ports' }, h('legend', { i18n: 'fm.ports' }),
        h('div', { class: 'grid' }, portField('/entry_point', 'lic.entryPoint', ownCountry), portField('/exit_point', 'lic.exitPoint', ownCountry))),
      h('fieldset', { class: 'terms' }, h('legend', { i18n: 'fm.terms' }), validity(),
        control({ pointer: '/decision', label: 'lic.decision', options: [['authorized', 'decision.authorized'], ['no_objection', 'decision.no_objection']] })));
    box.load = () => lic.load();
    return box;
  },
  build: (form) => ({ kind: 'transit', ...collect(form) }),
};

export const deliveryForm = {
  kind: 'delivery',
  fields() {
    const box = h('div', { class: 'doc-fields' });
    const lines = h('div', { class: 'delivery-lines' }, h('p', { class: 'hint', i18n: 'fm.pickLicenseFirst' }));
    const lic = picker({
      pointer: '/export_license', label: 'lic.exportLicense', emptyKey: 'fm.noDeliveries',
      query: () => `kind=export&importing=${ownCountry()}&undelivered=true`,
      chosen: (s) => {
        lines.replaceChildren(deliveryLines((s.lines || []).filter((l) => (l.undelivered ?? 0) > 0)));
        const name = box.querySelector('[data-pointer="/delivered_to/name"]');
        if (name && !name.value && s.end_user?.name) { name.value = s.end_user.name; name.dispatchEvent(new Event('input')); }
      },
    });
    box.append(
      h('div', { class: 'grid' }, numberField('DV'), ownCountryField('/importing_country', 'c.import'),
        control({ pointer: '/date', label: 'lic.deliveryDate', type: 'date', value: today(), checks: [CHECK.required, CHECK.date] })),
      lic, lines,
      party('/delivered_to', 'party.delivered_to', true));
    box.load = () => lic.load();
    return box;
  },
  build: (form) => deliveredOnly({ kind: 'delivery', ...collect(form) }),
};
