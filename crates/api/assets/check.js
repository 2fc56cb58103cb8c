// check.js: the Check a shipment page (#/check/AUTH/NUMBER): the declared
// shipment's form and the verdict with every rule.

import { api } from './api.js';
import { t } from './i18n.js';
import { h, field, errorBox, showError, clearError, fmt, loc, table } from './dom.js';
import { ownCountry, today, mark, pageTitle } from './common.js';
import { renderLicense } from './license.js';

/** The checkpoint's country code, with its name in the interface language beside it as typed. */
function countryField() {
  const input = h('input', { id: 'cp-country', required: true, value: ownCountry(), maxlength: 2, autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'characters', 'aria-describedby': 'cp-country-name' });
  const name = h('p', { id: 'cp-country-name', class: 'hint country-name' });
  const show = () => {
    const c = input.value.trim().toUpperCase();
    name.replaceChildren(/^[A-Z]{2}$/.test(c) ? loc({ country: c }) : '');
  };
  input.addEventListener('input', show);
  show();
  const f = field('f.country', input);
  f.append(name);
  return f;
}

export function pageCheck(view, [auth = '', num = '']) {
  const err = errorBox('check-error');
  const result = h('div', { id: 'check-result' });
  const rows = h('div', { id: 'item-rows' });
  let rowSeq = 0;

  function addRow(focus) {
    const n = ++rowSeq;
    const next = rows.children.length + 1;
    const row = h('div', { class: 'item-row' },
      field('f.line', h('input', { id: `item-line-${n}`, class: 'item-line', type: 'number', min: 1, step: 1, required: true, value: String(next), inputmode: 'numeric' })),
      field('f.quantity', h('input', { id: `item-quantity-${n}`, class: 'item-quantity', type: 'number', min: 0, step: 1, required: true, inputmode: 'numeric' })),
      field('f.serials', h('input', { id: `item-serials-${n}`, class: 'item-serials', type: 'text', autocomplete: 'off', spellcheck: 'false' })),
      h('button', { type: 'button', class: 'secondary remove', i18n: 'item.remove', on: { click: () => {
        row.remove();
        addBtn.focus();
      } } }));
    rows.append(row);
    if (focus) row.querySelector('.item-line').focus();
  }
  const addBtn = h('button', { type: 'button', id: 'item-add', class: 'secondary', i18n: 'item.add', on: { click: () => addRow(true) } });

  const dir = h('select', { id: 'cp-direction', name: 'cp-direction' },
    ['exit', 'transit', 'entry', 'return'].map((d) => h('option', { value: d, i18n: `dir.${d}` })));
  const form = h('form', { id: 'check-form', class: 'card' },
    h('fieldset', {}, h('legend', { i18n: 'check.license' }),
      h('div', { class: 'grid' },
        field('f.authority', h('input', { id: 'lic-authority', required: true, value: auth, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters' })),
        field('f.number', h('input', { id: 'lic-number', required: true, value: num, autocomplete: 'off', spellcheck: 'false' })))),
    h('fieldset', {}, h('legend', { i18n: 'check.checkpoint' }),
      h('div', { class: 'grid' },
        countryField(),
        field('f.port', h('input', { id: 'cp-port', autocomplete: 'off', spellcheck: 'false' })),
        field('f.direction', dir),
        field('f.date', h('input', { id: 'ship-date', type: 'date', required: true, value: today() })))),
    h('fieldset', {}, h('legend', { i18n: 'check.declared' }),
      h('div', { class: 'grid' },
        field('f.exporter', h('input', { id: 'exporter', autocomplete: 'off' })),
        field('f.importer', h('input', { id: 'importer', autocomplete: 'off' })))),
    h('fieldset', {}, h('legend', { i18n: 'check.items' }), rows, addBtn),
    h('div', { class: 'check' }, h('input', { id: 'record', type: 'checkbox' }), h('label', { for: 'record', i18n: 'f.record' })),
    h('button', { type: 'submit', id: 'check-submit', class: 'primary', i18n: 'check.submit' }));
  addRow(false);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(err);
    const v = (id) => form.querySelector(`#${id}`).value.trim();
    const body = {
      license: { authority: v('lic-authority').toUpperCase(), number: v('lic-number') },
      checkpoint: { country: v('cp-country').toUpperCase(), port: v('cp-port'), direction: dir.value },
      date: v('ship-date') || today(),
      items: [...rows.children].map((r) => {
        const item = { line: Number(r.querySelector('.item-line').value), quantity: Number(r.querySelector('.item-quantity').value) };
        const serials = r.querySelector('.item-serials').value.split(/[\s,;]+/).filter(Boolean);
        if (serials.length) item.serials = serials;
        return item;
      }),
      record: form.querySelector('#record').checked,
    };
    if (v('exporter')) body.exporter = v('exporter');
    if (v('importer')) body.importer = v('importer');
    const submit = form.querySelector('#check-submit');
    submit.disabled = true;
    result.replaceChildren(h('p', { role: 'status', i18n: 'loading' }));
    try {
      renderVerdict(result, await api('POST', '/v1/shipments/verify', body));
      result.querySelector('#result-title')?.focus();
    } catch (ex) {
      result.replaceChildren();
      showError(err, ex);
    } finally {
      submit.disabled = false;
    }
  });

  view.append(pageTitle('check.title'), form, err, result);
  if (!auth) form.querySelector('#lic-authority').focus();
}

function renderVerdict(box, r) {
  const ok = r.verdict === 'accept';
  const checks = Array.isArray(r.checks) ? r.checks : [];
  box.replaceChildren(
    h('h2', { id: 'result-title', tabindex: '-1', i18n: 'check.result' }),
    h('div', { class: `verdict ${ok ? 'accept' : 'reject'}` },
      h('span', { class: 'sym', 'aria-hidden': 'true' }, ok ? '✔' : '✘'), ' ',
      h('span', { id: 'verdict', 'data-verdict': ok ? 'accept' : 'reject', i18n: ok ? 'verdict.accept' : 'verdict.reject' })),
    // What no rule refuses but the officer should know (text from the node).
    Array.isArray(r.flags) && r.flags.length ? h('div', { id: 'verdict-flags', class: 'alert warn', role: 'note' },
      h('strong', { i18n: 'check.flags' }), h('ul', {}, r.flags.map((f) => h('li', { text: String(f) })))) : null,
    table({
      id: 'checks', caption: 'checks.caption', rows: checks, cls: 'checks',
      rowAttrs: (c) => ({ 'data-rule': c.rule, 'data-ok': c.ok ? 'true' : 'false', class: c.ok ? 'ok' : 'bad' }),
      cols: [
        ['col.rule', (c) => [h('code', { text: c.rule }), t(`rule.${c.rule}`) !== `rule.${c.rule}` ? h('span', { class: 'rule-desc', i18n: `rule.${c.rule}` }) : null]],
        ['col.result', (c) => mark(c.ok, 'ok.yes', 'ok.no')],
        ['col.detail', (c) => fmt(c.detail)],
      ],
    }),
    r.record
      ? h('p', { id: 'record-result', class: 'recorded' }, '✔ ', h('span', { i18n: ['record.done', { seq: r.record.seq, hash: r.record.hash }] }))
      : h('p', { id: 'record-result', class: 'hint', i18n: 'record.none' }),
    r.license ? renderLicense(r.license) : null);
}
