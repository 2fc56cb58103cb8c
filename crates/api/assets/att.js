// att.js: the Statistics page's section that downloads the ATT annual
// report's draft (GET /v1/reports/att, issuer token) for a year and a basis,
// as XLSX or CSV. A plain link could not send the token: a click reads the
// file with it, then saves it through a Blob URL under the node's file name.

import { apiBlob } from './api.js';
import { h, field, errorBox, showError, clearError } from './dom.js';
import { today } from './common.js';
import { fileName as savedName, saveBlob as save } from './download.js';

const fileName = (given, year, format) => savedName(given, `att-report-${year}.${format}`);

/**
 * The section: year, basis, the two downloads and what the officer still
 * decides. Returns it and a function that frees its Blob URLs.
 */
export function attSection() {
  const urls = [];
  const err = errorBox('att-error');
  const status = h('p', { id: 'att-status', role: 'status', class: 'hint' });
  const year = h('input', { id: 'att-year', type: 'number', min: 2000, max: 2100, step: 1, required: true, value: today().slice(0, 4) });
  const basis = h('select', { id: 'att-basis' },
    h('option', { value: 'authorized', i18n: 'att.basisAuthorized' }),
    h('option', { value: 'actual', i18n: 'att.basisActual' }));
  const buttons = [];
  const button = (format, key) => {
    const b = h('button', { type: 'button', id: `att-${format}`, class: 'secondary', 'data-format': format, i18n: key });
    b.addEventListener('click', () => download(format));
    buttons.push(b);
    return b;
  };
  async function download(format) {
    clearError(err);
    status.replaceChildren();
    const y = year.value.trim();
    if (!year.checkValidity() || !/^\d{4}$/.test(y)) {
      year.reportValidity();
      return;
    }
    for (const b of buttons) b.disabled = true;
    status.append(h('span', { i18n: 'att.preparing' }));
    try {
      const q = new URLSearchParams({ year: y, basis: basis.value, format });
      const { blob, filename } = await apiBlob(`/v1/reports/att?${q}`);
      const name = fileName(filename, y, format);
      save(blob, name, urls);
      status.replaceChildren(h('span', { i18n: ['att.saved', { file: name }] }));
    } catch (ex) {
      status.replaceChildren();
      showError(err, ex);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }
  const section = h('section', { id: 'att-section', class: 'card', 'aria-labelledby': 'att-title' },
    h('h2', { id: 'att-title', i18n: 'att.title' }),
    h('div', { class: 'grid' }, field('att.year', year), field('att.basis', basis)),
    h('div', { class: 'buttons' }, button('xlsx', 'att.downloadXlsx'), button('csv', 'att.downloadCsv')),
    h('p', { id: 'att-unplaced', class: 'hint', i18n: 'att.unplaced' }),
    status, err);
  return [section, () => { for (const u of urls.splice(0)) URL.revokeObjectURL(u); }];
}
