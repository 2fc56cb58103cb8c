// alerts.js: the Alerts page (#/alerts) and the alert tables the license page
// shares.

import { api, seg } from './api.js';
import { t } from './i18n.js';
import { h, field, errorBox, showError, clearError, fmt, tableWrap } from './dom.js';
import { licenseLink, pageTitle, raisedAt, refreshAlertCount } from './common.js';

/** The kinds `GET /v1/alerts?kind=` accepts today (docs/API.md "Alerts"). */
const ALERT_KINDS = ['shipment.discrepancy', 'shipment.refused', 'shipment.off_route', 'shipment.after_revocation',
  'delivery.overdue', 'serial.repeat', 'import.withdrawn', 'document.invalid', 'equivocation', 'key.compromised',
  'log.cloned', 'party.excluded', 'document.unreadable', 'denial.match', 'return.overdue', 'enduse.unanswered',
  'shipment.unplanned'];
const ALERTS_PAGE = 50;

/** A kind as a label in the current language, with its code; unknown kinds as their code alone. */
function alertKind(kind) {
  const key = `ak.${kind}`;
  return [t(key) !== key ? h('span', { class: 'kind-label', i18n: key }) : null, h('code', { class: 'kind-code', text: kind ?? '' })];
}

function alertState(open) {
  return h('span', { class: `badge ${open ? 'alert-open' : 'alert-closed'}`, 'data-open': open ? 'true' : 'false' },
    h('span', { 'aria-hidden': 'true' }, open ? '⚠ ' : '✔ '), h('span', { i18n: open ? 'alerts.open' : 'alerts.closed' }));
}

/** Table rows of alerts (appended to by paging). */
function alertRows(list, withLicense = true) {
  return list.map((a) => h('tr', { 'data-id': a.id, 'data-kind': a.kind, 'data-open': a.open ? 'true' : 'false', class: a.open ? 'bad' : '' },
    h('th', { scope: 'row' }, alertKind(a.kind)),
    withLicense ? h('td', {}, a.license ? licenseLink(a.license) : '—') : null,
    h('td', {}, raisedAt(a.raised_at)),
    h('td', { class: 'detail' }, fmt(a.detail)),
    h('td', {}, alertState(a.open))));
}

function alertTable(id, list, withLicense = true) {
  const body = h('tbody', {}, alertRows(list, withLicense));
  const cols = ['col.kind', withLicense ? 'col.license' : null, 'col.raised', 'col.detail', 'col.state'].filter(Boolean);
  const wrap = tableWrap(h('table', { id, class: 'alerts' },
    h('thead', {}, h('tr', {}, cols.map((k) => h('th', { scope: 'col', i18n: k })))), body));
  return { wrap, body };
}

export function renderLicenseAlerts(alerts) {
  const box = h('section', { id: 'license-alerts', 'aria-labelledby': 'license-alerts-title' },
    h('h3', { id: 'license-alerts-title', i18n: 'alerts.license' }));
  if (!Array.isArray(alerts)) {
    const err = errorBox('license-alerts-error');
    box.append(err);
    showError(err, alerts);
  } else if (!alerts.length) {
    box.append(h('p', { id: 'license-alerts-none', i18n: 'alerts.licenseNone' }));
  } else {
    box.append(alertTable('license-alerts-table', alerts, false).wrap);
  }
  return box;
}

export function pageAlerts(view) {
  const err = errorBox('alerts-error');
  const kind = h('select', { id: 'alerts-kind' },
    h('option', { value: '', i18n: 'alerts.allKinds' }),
    ALERT_KINDS.map((k) => h('option', { value: k, i18n: `ak.${k}` })));
  const all = h('input', { id: 'alerts-all', type: 'checkbox' });
  const form = h('form', { id: 'alerts-filters', class: 'card', role: 'search', i18nAttr: { 'aria-label': 'alerts.filters' } },
    h('div', { class: 'grid' },
      field('alerts.kind', kind),
      h('div', { class: 'field end' }, h('div', { class: 'check' }, all, h('label', { for: 'alerts-all', i18n: 'alerts.all' }))),
      h('div', { class: 'field end start' }, h('button', { type: 'submit', id: 'alerts-refresh', class: 'secondary', i18n: 'alerts.refresh' }))));
  const list = h('div', { id: 'alerts-list', 'aria-live': 'polite' });
  const status = h('p', { id: 'alerts-status', class: 'hint', role: 'status' });
  const more = h('button', { type: 'button', id: 'alerts-more', class: 'secondary', hidden: true, i18n: 'alerts.more' });
  let alive = true, gen = 0, last = null, shown = 0, body = null;

  const query = (before) => {
    const q = [`limit=${ALERTS_PAGE}`];
    if (kind.value) q.push(`kind=${seg(kind.value)}`);
    if (all.checked) q.push('all=true');
    if (before) q.push(`before=${seg(before)}`);
    return `/v1/alerts?${q.join('&')}`;
  };
  function page(alerts) {
    if (alerts.length) last = alerts[alerts.length - 1].id;
    shown += alerts.length;
    more.hidden = alerts.length < ALERTS_PAGE;
    status.replaceChildren(h('span', { i18n: ['alerts.shown', { n: { num: shown } }] }));
    if (more.hidden && shown) status.append(' ', h('span', { i18n: 'alerts.end' }));
  }
  async function load() {
    const mine = ++gen;
    clearError(err);
    last = null; shown = 0; body = null;
    more.hidden = true;
    list.replaceChildren(h('p', { i18n: 'loading' }));
    try {
      const alerts = await api('GET', query());
      if (!alive || mine !== gen) return;
      const rows = Array.isArray(alerts) ? alerts : [];
      if (!rows.length) {
        list.replaceChildren(h('p', { id: 'alerts-none', i18n: all.checked ? 'alerts.none' : 'alerts.noneOpen' }));
        status.replaceChildren();
        return;
      }
      const tbl = alertTable('alerts', rows);
      body = tbl.body;
      list.replaceChildren(tbl.wrap);
      page(rows);
    } catch (ex) {
      if (!alive || mine !== gen) return;
      list.replaceChildren();
      showError(err, ex);
    }
  }
  more.addEventListener('click', async () => {
    const mine = gen;
    more.disabled = true;
    try {
      const alerts = await api('GET', query(last));
      if (!alive || mine !== gen || !body) return;
      const rows = Array.isArray(alerts) ? alerts : [];
      const added = alertRows(rows);
      body.append(...added);
      page(rows);
      const next = added[0]?.querySelector('th');
      if (next) { next.tabIndex = -1; next.focus(); } else more.focus();
    } catch (ex) {
      if (alive) showError(err, ex);
    } finally {
      more.disabled = false;
    }
  });
  kind.addEventListener('change', load);
  all.addEventListener('change', load);
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); refreshAlertCount(); });

  view.append(pageTitle('alerts.title'), h('p', { class: 'hint', i18n: 'alerts.hint' }), form, err, list, status, more);
  load();
  return () => { alive = false; };
}
