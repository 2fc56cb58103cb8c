// form-enduse.js: the end-use request form. Before relying on an end-user
// certificate, the exporting authority asks the importing State's authority
// whether it is genuine (docs/API.md "End-use assurance"); the answer comes
// back signed and shows on the license page of the request. The asking
// country is always this node's; the node refuses a request to a State it
// trusts no authority of.

import { h } from './dom.js';
import { CHECK, collect, control, countryField } from './form-kit.js';
import { numberField, ownCountryField, party } from './form-parts.js';
import { ownCountry, today } from './common.js';

export const enduseRequestForm = {
  kind: 'enduse_request',
  fields() {
    const box = h('div', { class: 'doc-fields' },
      h('p', { class: 'hint', i18n: 'fm.enduseHint' }),
      h('div', { class: 'grid' }, numberField('EUR'), ownCountryField('/exporting_country', 'c.export'),
        countryField({ pointer: '/importing_country', label: 'c.asked', blank: 'fm.choose',
          checks: [CHECK.required, (v) => (v && v === ownCountry() ? 'fe.sameCountry' : null)] }),
        control({ pointer: '/export_license', label: 'fm.enduseLicense', checks: [CHECK.required, CHECK.number] }),
        control({ pointer: '/date', label: 'fm.enduseDate', type: 'date', value: today(), checks: [CHECK.required, CHECK.date] })),
      h('fieldset', { class: 'euc' }, h('legend', { i18n: 'lic.euc' }),
        h('div', { class: 'grid' },
          control({ pointer: '/end_user_certificate/number', label: 'fm.eucNumber', checks: [CHECK.required, CHECK.number] }),
          control({ pointer: '/end_user_certificate/date', label: 'fm.eucDate', type: 'date', checks: [CHECK.required, CHECK.date] }),
          control({ pointer: '/end_user_certificate/issued_by', label: 'fm.eucIssuedBy', checks: [CHECK.required] }))),
      party('/end_user', 'party.end_user'));
    box.load = () => {};
    return box;
  },
  build: (form) => ({ kind: 'enduse_request', ...collect(form) }),
};
