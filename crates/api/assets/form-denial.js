// form-denial.js: the denial form. An authority that refused a license
// application tells its partners who applied, who would have received the
// goods and what they were, so that the same buyer cannot simply try the
// next State. Published to every trusted State unless the officer chooses
// the parties only. The denying country is always this node's.

import { h } from './dom.js';
import { CHECK, collect, control, countryField, listOf } from './form-kit.js';
import { numberField, ownCountryField, party } from './form-parts.js';
import { ownCountry, today } from './common.js';

const CATEGORIES = ['firearm', 'part', 'ammunition', 'explosive', 'related'];

/** What was refused: category, HS heading (four digits) and a description. */
function goods() {
  return listOf({ pointer: '/goods', legend: 'fm.deniedGoods', addKey: 'fm.addGoods', min: 1, start: 1, cls: 'goods',
    make: () => h('div', { class: 'grid' },
      control({ tpl: '/goods/#/category', label: 'col.category', options: CATEGORIES.map((c) => [c, `cat.${c}`]) }),
      control({ tpl: '/goods/#/hs_heading', label: 'fm.hsHeading', checks: [(v) => (!v || /^\d{4}$/.test(v) ? null : 'fe.hsHeading')],
        attrs: { inputmode: 'numeric' } }),
      control({ tpl: '/goods/#/description', label: 'col.description' })) });
}

export const denialForm = {
  kind: 'denial',
  fields() {
    const box = h('div', { class: 'doc-fields' },
      h('p', { class: 'hint', i18n: 'fm.denialHint' }),
      h('div', { class: 'grid' }, numberField('DEN'), ownCountryField('/denying_country', 'c.denying'),
        countryField({ pointer: '/destination', label: 'c.destination', blank: 'fm.choose',
          checks: [CHECK.required, (v) => (v && v === ownCountry() ? 'fe.sameCountry' : null)] }),
        control({ pointer: '/date', label: 'lic.denialDate', type: 'date', value: today(), checks: [CHECK.required, CHECK.date] })),
      party('/applicant', 'party.applicant', true),
      party('/consignee', 'party.consignee'),
      party('/end_user', 'party.end_user'),
      goods(),
      control({ pointer: '/criterion', label: 'lic.criterion', hint: 'fm.criterionHint', checks: [CHECK.required] }),
      control({ pointer: '/visibility', label: 'fm.visibility', options: [['network', 'vis.network'], ['parties', 'vis.parties']] }));
    box.load = () => {};
    return box;
  },
  build: (form) => ({ kind: 'denial', ...collect(form) }),
};
