// exports.js: the Statistics page's section that takes the data out
// (GET /v1/export/WHAT?format=csv, issuer token): licenses, deliveries,
// shipments or alerts this node reads, for a period, as CSV (cells that a
// spreadsheet would run as formulas are defused by the node). The same
// rows as `tally export`.

import { apiBlob } from './api.js';
import { h, field, errorBox, showError, clearError } from './dom.js';
import { fileName, saveBlob } from './download.js';

const WHAT = ['licenses', 'deliveries', 'shipments', 'alerts'];

/** The section, and a function that frees its Blob URLs. */
export function exportSection() {
  const urls = [];
  const err = errorBox('export-error');
  const status = h('p', { id: 'export-status', role: 'status', class: 'hint' });
  const from = h('input', { id: 'export-from', type: 'date' });
  const to = h('input', { id: 'export-to', type: 'date' });
  const buttons = WHAT.map((what) => {
    const b = h('button', { type: 'button', id: `export-${what}`, class: 'secondary', i18n: `export.${what}` });
    b.addEventListener('click', () => download(what));
    return b;
  });
  async function download(what) {
    clearError(err);
    status.replaceChildren(h('span', { i18n: 'export.preparing' }));
    for (const b of buttons) b.disabled = true;
    try {
      const q = new URLSearchParams({ format: 'csv' });
      if (from.value) q.set('from', from.value);
      if (to.value) q.set('to', to.value);
      const { blob, filename } = await apiBlob(`/v1/export/${what}?${q}`);
      const name = fileName(filename, `${what}.csv`);
      saveBlob(blob, name, urls);
      status.replaceChildren(h('span', { i18n: ['export.saved', { file: name }] }));
    } catch (ex) {
      status.replaceChildren();
      showError(err, ex);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }
  const section = h('section', { id: 'export-section', class: 'card', 'aria-labelledby': 'export-title' },
    h('h2', { id: 'export-title', i18n: 'export.title' }),
    h('p', { class: 'hint', i18n: 'export.hint' }),
    h('div', { class: 'grid' }, field('export.from', from), field('export.to', to)),
    h('div', { class: 'buttons' }, ...buttons),
    status, err);
  return [section, () => { for (const u of urls.splice(0)) URL.revokeObjectURL(u); }];
}
