// common.js: what the console's pages share: the signed-in node (state), links
// to licenses, pass/fail marks, page titles, timestamps, and the navigation's
// count of open alerts.

import { api, token, seg } from './api.js';
import { h, fmt } from './dom.js';

export const $ = (sel) => document.querySelector(sel);
export const state = { status: null };
export const today = () => new Date().toISOString().slice(0, 10);
export const plusDays = (n) => new Date(Date.now() + n * 864e5).toISOString().slice(0, 10);
export const ownAuthority = () => state.status?.authority || '';
export const ownCountry = () => ownAuthority().split('-')[0] || '';
export const licenseHref = (a, n) => `#/license/${seg(a)}/${seg(n)}`;
export const licenseLink = (ref) => (ref && ref.authority && ref.number
  ? h('a', { href: licenseHref(ref.authority, ref.number) }, `${ref.authority} ${ref.number}`) : fmt(ref));
export const mark = (ok, yesKey, noKey) => h('span', { class: `mark ${ok ? 'ok' : 'bad'}` },
  h('span', { 'aria-hidden': 'true' }, ok ? '✔ ' : '✘ '), h('span', { i18n: ok ? yesKey : noKey }));
export const pageTitle = (key) => h('h1', { id: 'page-title', tabindex: '-1', i18n: key });

export function showNode(st) {
  state.status = st;
  $('#node-authority').textContent = st.authority ?? '';
  $('#node-peer').textContent = st.peer_id ?? '';
  $('#node-info').hidden = false;
}

// ---------------------------------------------------------------- open alerts in the navigation

/** Most alerts one answer lists (docs/API.md "Alerts"): the count shows "1000+" past it. */
export const ALERTS_MAX = 1000;
let countTimer = null, countSeq = 0;

export function startAlertCount() {
  stopAlertCount();
  countTimer = setInterval(refreshAlertCount, 30000);
}

export function stopAlertCount() {
  if (countTimer) clearInterval(countTimer);
  countTimer = null;
  countSeq++;
  const el = $('#nav-alerts-count');
  el.hidden = true;
  el.replaceChildren();
}

/** Re-reads the number of open alerts; the newest answer wins. */
export async function refreshAlertCount() {
  if (!token.get()) return;
  const mine = ++countSeq;
  let n;
  try {
    const list = await api('GET', `/v1/alerts?limit=${ALERTS_MAX}`);
    n = Array.isArray(list) ? list.length : 0;
  } catch {
    return; // the page in view reports errors; the count keeps its last value
  }
  if (mine !== countSeq) return;
  const el = $('#nav-alerts-count');
  el.dataset.count = String(n);
  el.classList.toggle('some', n > 0);
  el.replaceChildren(h('span', { class: 'n', text: n >= ALERTS_MAX ? `${ALERTS_MAX}+` : String(n) }),
    h('span', { class: 'sr-only' }, ' ', h('span', { i18n: 'nav.alertsOpen' })));
  el.hidden = false;
}

/** A date or an RFC 3339 time in a <time>, written for the locale (times in UTC); anything else as given. */
export function raisedAt(s) {
  const d = new Date(s);
  if (typeof s !== 'string' || Number.isNaN(d.getTime())) return fmt(s);
  return h('time', { datetime: s, title: s, l10n: { date: s } });
}
