// trace.js: the Trace page (#/trace/MAKE/SERIAL): a seized firearm's make
// and serial number, and every license line and crossing this node reads
// that names it (GET /v1/trace), each license linked to its page.

import { api, seg } from './api.js';
import { h, field, errorBox, showError, clearError, fmt, loc, table } from './dom.js';
import { licenseLink, mark, pageTitle } from './common.js';

const traceHref = (make, serial) => `#/trace/${seg(make)}/${seg(serial)}`;

export function pageTrace(view, [make = '', serial = '']) {
  const err = errorBox('trace-error');
  const content = h('div', { id: 'trace-content', 'aria-live': 'polite' });
  const form = h('form', { id: 'trace-form', class: 'card', role: 'search' },
    h('h2', { i18n: 'trace.lookup' }),
    h('div', { class: 'grid' },
      field('trace.make', h('input', { id: 'trace-make', required: true, value: make, autocomplete: 'off', spellcheck: 'false' })),
      field('trace.serial', h('input', { id: 'trace-serial', required: true, value: serial, autocomplete: 'off', spellcheck: 'false' }), 'trace.serialHelp')),
    h('button', { type: 'submit', id: 'trace-submit', class: 'primary', i18n: 'trace.submit' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const m = form.querySelector('#trace-make').value.trim();
    const s = form.querySelector('#trace-serial').value.trim();
    const href = traceHref(m, s);
    if (location.hash === href) load(m, s); else location.hash = href;
  });
  let alive = true;
  async function load(m, s) {
    clearError(err);
    content.replaceChildren(h('p', { role: 'status', i18n: 'loading' }));
    let rows;
    try {
      rows = await api('GET', `/v1/trace?make=${seg(m)}&serial=${seg(s)}`);
    } catch (ex) {
      if (!alive) return;
      content.replaceChildren();
      showError(err, ex);
      return;
    }
    if (!alive) return;
    content.replaceChildren(renderTrace(Array.isArray(rows) ? rows : []));
  }
  view.append(pageTitle('trace.title'), form, err, content);
  if (make && serial) load(make, serial); else form.querySelector('#trace-make').focus();
  return () => { alive = false; };
}

/** One row per license line naming the serial: listed on it, or declared at a crossing under it. */
function renderTrace(rows) {
  if (!rows.length) return h('p', { id: 'trace-none', i18n: 'trace.none' });
  return table({
    id: 'trace-rows', caption: 'trace.found', rows,
    rowAttrs: (r) => ({ 'data-license': `${r.license?.authority ?? ''} ${r.license?.number ?? ''}` }),
    cols: [
      ['col.license', (r) => licenseLink(r.license)],
      ['col.line', (r) => fmt(r.line)],
      ['col.make', (r) => fmt(r.make)],
      ['col.model', (r) => fmt(r.model)],
      ['trace.listed', (r) => mark(Boolean(r.listed), 'trace.onLicense', 'trace.atCrossing')],
      ['trace.crossings', (r) => crossings(r.crossings)],
      ['trace.delivered', (r) => (r.delivered_to
        ? h('span', {}, licenseLink(r.delivered_to.verification), ' ', loc({ date: r.delivered_to.date }))
        : h('span', { i18n: 'trace.notDelivered' }))],
    ],
  });
}

function crossings(list) {
  if (!Array.isArray(list) || !list.length) return h('span', { i18n: 'none' });
  return h('ul', { class: 'plain' }, list.map((c) => h('li', {},
    h('span', { i18n: `dir.${c.direction}` }), ' ', loc({ country: c.country }), ' ',
    loc({ date: c.date }), ' (', fmt(c.recorded_by), ')')));
}
