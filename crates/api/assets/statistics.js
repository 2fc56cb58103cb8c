// statistics.js: the Statistics page (#/statistics, issuer token): over a
// period, by month, counterpart and category, what this State licensed,
// exported, imported and saw in transit (GET /v1/statistics), a chart of
// licensed, exited and delivered firearms per counterpart, the crossings
// refused by rule and the alerts by month. Every table downloads as CSV, and
// the page and every file carry the confidentiality notice (CIFTA Art. XII):
// the figures come from documents the partners sealed to this State alone.
// Below them, the ATT annual report's draft to download (att.js).

import { api, apiText } from './api.js';
import { t, getLang } from './i18n.js';
import { h, field, errorBox, showError, clearError, table } from './dom.js';
import { pageTitle, today } from './common.js';
import { flowChart } from './chart.js';
import { attSection } from './att.js';
import { exportSection } from './exports.js';

const DIRECTIONS = ['export', 'import', 'transit'];
const CATEGORIES = ['firearm', 'part', 'ammunition', 'explosive', 'related'];
const COUNTS = [['licensed', 'col.licensed'], ['exited', 'stats.exited'], ['transited', 'stats.transited'],
  ['entered', 'stats.entered'], ['delivered', 'stats.delivered'], ['licenses', 'stats.licenses'],
  ['licenses_revoked', 'stats.revoked']];

/** A label for an API value (`cat.firearm`), or the value itself as text when the console has none. */
function label(prefix, v) {
  const key = `${prefix}.${v}`;
  return t(key) !== key ? h('span', { i18n: key }) : h('code', { text: String(v ?? '') });
}
const count = (v, props = {}) => h('span', { class: 'num', ...props, l10n: { num: Number(v) || 0 } });

/** A CSV cell: quoted when it must be; text a spreadsheet would run as a formula gets a leading '. */
function cell(v) {
  let s = String(v ?? '');
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV file's text: the notice first, as a comment line, then the header and the rows. */
function csv(header, rows) {
  return [`# ${t('stats.notice')}`, header.map(cell).join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}

/** The page's Blob URLs, revoked when the page goes or reloads. */
const blobs = [];
function blobUrl(text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  blobs.push(url);
  return url;
}
function revokeAll() { for (const u of blobs.splice(0)) URL.revokeObjectURL(u); }

/** A download link for a CSV made here by `make`, made again on each click (the notice in the language of the moment). */
function download(id, name, make, key) {
  const a = h('a', { id, href: blobUrl(make()), download: name, i18n: key });
  a.addEventListener('click', () => { a.href = blobUrl(make()); });
  return h('p', { class: 'download' }, a);
}

/**
 * The flows' download link: a click reads the API's CSV with the token (a
 * plain link could not send it), points the link at it as a Blob with the
 * notice in the language of the moment, and clicks again, so the browser
 * saves it as any download.
 */
function flowsDownload(query, err) {
  const a = h('a', { id: 'stats-flows-csv', href: location.hash || '#/statistics', download: 'statistics-flows.csv', i18n: 'stats.downloadFlows' });
  let body = null, ready = false;
  a.addEventListener('click', async (e) => {
    if (ready) { ready = false; return; } // the second click: the browser saves the Blob
    e.preventDefault();
    try {
      body ??= await apiText(`/v1/statistics?${query}&format=csv`);
    } catch (ex) {
      showError(err, ex);
      return;
    }
    // The API writes its notice in English; a reader of another language gets it in theirs too.
    a.href = blobUrl(getLang() === 'en' ? body : `# ${t('stats.notice')}\n${body}`);
    ready = true;
    a.click();
  });
  return h('p', { class: 'download' }, a);
}

/**
 * A section headed by an h2, which names the table right after it. Not a
 * named region itself: a table that scrolls sideways becomes one under the
 * same name (dom.js tableWrap), and two regions may not share a name.
 */
const section = (id, titleKey, ...kids) => h('section', { id }, h('h2', { id: `${id}-title`, i18n: titleKey }), ...kids);

function flowsSection(flows, query, err) {
  if (!flows.length) return section('stats-flows-section', 'stats.flows', h('p', { id: 'stats-flows-none', i18n: 'stats.noFlows' }));
  return section('stats-flows-section', 'stats.flows', table({
    id: 'stats-flows', rows: flows, cls: 'stats',
    rowAttrs: (f) => ({ 'data-month': f.month ?? '', 'data-counterpart': f.counterpart ?? '', 'data-direction': f.direction ?? '',
      'data-category': f.category ?? '', 'data-unit': f.unit ?? '' }),
    cols: [
      ['stats.col.month', (f) => f.month ?? '—'],
      ['stats.col.counterpart', (f) => (f.counterpart ? h('span', { l10n: { country: f.counterpart } }) : '—')],
      ['stats.col.direction', (f) => label('flow', f.direction)],
      ['col.category', (f) => (f.category ? label('cat', f.category) : '—')],
      ['stats.col.unit', (f) => label('unit', f.unit)],
      ...COUNTS.map(([k, key]) => [key, (f) => count(f[k], { 'data-col': k })]),
    ],
  }), flowsDownload(query, err));
}

/** Licensed, exited and delivered firearms counted in units, per counterpart and this State's part. */
function chartSection(flows) {
  const by = new Map();
  for (const f of flows.filter((x) => x.category === 'firearm' && x.unit === 'units' && x.counterpart)) {
    const k = `${f.counterpart} ${f.direction}`;
    const r = by.get(k) || { counterpart: f.counterpart, direction: f.direction, licensed: 0, exited: 0, delivered: 0 };
    for (const c of ['licensed', 'exited', 'delivered']) r[c] += Number(f[c]) || 0;
    by.set(k, r);
  }
  return section('stats-chart-section', 'stats.chartTitle', flowChart([...by.values()]));
}

function refusalsSection(refusals) {
  const rows = Object.entries(refusals && typeof refusals === 'object' ? refusals : {});
  if (!rows.length) return section('stats-refusals-section', 'stats.refusals', h('p', { id: 'stats-refusals-none', i18n: 'stats.noRefusals' }));
  return section('stats-refusals-section', 'stats.refusals', table({
    id: 'stats-refusals', rows, cls: 'stats', rowAttrs: ([rule]) => ({ 'data-rule': rule }),
    cols: [
      ['col.rule', ([rule]) => [h('code', { text: rule }), t(`rule.${rule}`) !== `rule.${rule}` ? h('span', { class: 'rule-desc', i18n: `rule.${rule}` }) : null]],
      ['stats.col.count', ([, n]) => count(n)],
    ],
  }), download('stats-refusals-csv', 'statistics-refusals.csv', () => csv(['rule', 'count'], rows), 'stats.downloadRefusals'));
}

function alertsSection(alerts, overdue) {
  const list = Array.isArray(alerts) ? alerts : [];
  const open = h('p', { id: 'stats-overdue', 'data-count': Number(overdue) || 0, i18n: ['stats.overdue', { n: { num: Number(overdue) || 0 } }] });
  if (!list.length) return section('stats-alerts-section', 'stats.alerts', h('p', { id: 'stats-alerts-none', i18n: 'stats.noAlerts' }), open);
  return section('stats-alerts-section', 'stats.alerts', table({
    id: 'stats-alerts', rows: list, cls: 'stats', rowAttrs: (a) => ({ 'data-month': a.month ?? '', 'data-kind': a.kind ?? '' }),
    cols: [
      ['stats.col.month', (a) => a.month ?? '—'],
      ['col.kind', (a) => [t(`ak.${a.kind}`) !== `ak.${a.kind}` ? h('span', { class: 'kind-label', i18n: `ak.${a.kind}` }) : null,
        h('code', { class: 'kind-code', text: a.kind ?? '' })]],
      ['stats.col.raised', (a) => count(a.raised)],
      ['stats.col.closed', (a) => count(a.closed)],
    ],
  }), download('stats-alerts-csv', 'statistics-alerts.csv',
    () => csv(['month', 'kind', 'raised', 'closed'], list.map((a) => [a.month, a.kind, a.raised, a.closed])), 'stats.downloadAlerts'), open);
}

function render(r, query, err) {
  const flows = Array.isArray(r?.flows) ? r.flows : [];
  return [
    r?.from && r?.to ? h('p', { id: 'stats-period', class: 'hint', i18n: ['stats.period', { from: { date: r.from }, to: { date: r.to } }] }) : null,
    flowsSection(flows, query, err), chartSection(flows), refusalsSection(r?.refusals), alertsSection(r?.alerts, r?.overdue),
  ];
}

/** The filter form: a period (from 1 January to today), this State's part, a counterpart, a category. */
function filters() {
  const day = today();
  const select = (id, prefix, values) => h('select', { id },
    h('option', { value: '', i18n: 'stats.all' }), values.map((v) => h('option', { value: v, i18n: `${prefix}.${v}` })));
  return h('form', { id: 'stats-form', class: 'card', role: 'search', i18nAttr: { 'aria-label': 'stats.filters' } },
    h('div', { class: 'grid' },
      field('stats.from', h('input', { id: 'stats-from', type: 'date', value: `${day.slice(0, 4)}-01-01` })),
      field('stats.to', h('input', { id: 'stats-to', type: 'date', value: day })),
      field('stats.direction', select('stats-direction', 'flow', DIRECTIONS)),
      field('stats.counterpart', h('input', { id: 'stats-country', maxlength: 2, pattern: '[A-Za-z]{2}', autocomplete: 'off', spellcheck: 'false' }), 'stats.counterpartHelp'),
      field('col.category', select('stats-category', 'cat', CATEGORIES))),
    h('button', { type: 'submit', id: 'stats-submit', class: 'primary', i18n: 'stats.submit' }));
}

export function pageStatistics(view) {
  const err = errorBox('stats-error');
  const form = filters();
  const content = h('div', { id: 'stats-content', 'aria-live': 'polite' });
  const [att, freeAtt] = attSection();
  const [exports, freeExports] = exportSection();
  const notice = h('div', { id: 'stats-notice', class: 'alert warn notice', role: 'note' },
    h('p', {}, h('span', { 'aria-hidden': 'true' }, '⚠ '), h('strong', { i18n: 'stats.notice' })));
  let alive = true, gen = 0;
  async function load() {
    const mine = ++gen;
    clearError(err);
    revokeAll();
    const q = new URLSearchParams({ group: 'month,counterpart,category' });
    for (const [name, id] of [['from', 'stats-from'], ['to', 'stats-to'], ['direction', 'stats-direction'], ['country', 'stats-country'], ['category', 'stats-category']]) {
      const v = form.querySelector(`#${id}`).value.trim();
      if (v) q.set(name, name === 'country' ? v.toUpperCase() : v);
    }
    const query = q.toString();
    content.replaceChildren(h('p', { role: 'status', i18n: 'loading' }));
    try {
      const r = await api('GET', `/v1/statistics?${query}`);
      if (!alive || mine !== gen) return;
      content.replaceChildren(...render(r, query, err).filter(Boolean));
    } catch (ex) {
      if (!alive || mine !== gen) return;
      content.replaceChildren();
      showError(err, ex);
      // Other roles see the page; say plainly what it needs.
      if (ex.status === 403) err.append(h('p', { id: 'stats-forbidden', i18n: 'stats.forbidden' }));
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  view.append(pageTitle('stats.title'), notice, h('p', { class: 'hint', i18n: 'stats.hint' }), form, err, content, att, exports);
  load();
  return () => { alive = false; revokeAll(); freeAtt(); freeExports(); };
}
