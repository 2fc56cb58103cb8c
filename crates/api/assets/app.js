// app.js: the console's shell: sign-in, the header (node identity, language),
// the hash router (#/check, #/license/AUTH/NUMBER, #/trace/MAKE/SERIAL,
// #/issue, #/requests, #/network, #/alerts, #/statistics) over the page modules. Only the current page's DOM exists;
// pages return a cleanup function.

import { api, token, setUnauthorizedHandler } from './api.js';
import { LOCALES, getLocale, localeName, setLocale } from './i18n.js';
import { h, showError, clearError } from './dom.js';
import { $, state, showNode, startAlertCount, stopAlertCount, refreshAlertCount } from './common.js';
import { pageCheck } from './check.js';
import { pageLicense } from './license.js';
import { pageIssue } from './issue.js';
import { pageNetwork } from './network.js';
import { pageAlerts } from './alerts.js';
import { pageTrace } from './trace.js';
import { pageStatistics } from './statistics.js';
import { pageDrafts } from './drafts.js';
import { pageUpload } from './upload.js';
import { pageRequests } from './requests.js';
import { refreshDraftCount, hideDraftCount } from './drafts-notice.js';

let cleanup = null;

// ---------------------------------------------------------------- shell

function showSignin(msgKey) {
  if (cleanup) { cleanup(); cleanup = null; }
  stopAlertCount();
  hideDraftCount();
  state.status = null;
  $('#view').replaceChildren();
  for (const id of ['#nav', '#node-info', '#signout']) $(id).hidden = true;
  $('#signin-view').hidden = false;
  const box = $('#signin-error');
  if (msgKey) { box.hidden = false; box.replaceChildren(h('p', { i18n: msgKey })); } else clearError(box);
  $('#token').value = '';
  $('#token').focus();
}

async function signIn(tok) {
  token.set(tok);
  try {
    showNode(await api('GET', '/v1/status'));
  } catch (e) {
    token.clear();
    showSignin(e.status === 401 ? 'signin.bad' : null);
    if (e.status !== 401) showError($('#signin-error'), e);
    return;
  }
  $('#signin-view').hidden = true;
  $('#nav').hidden = false;
  $('#signout').hidden = false;
  startAlertCount();
  route(false);
}

const ROUTES = { check: pageCheck, license: pageLicense, trace: pageTrace, issue: pageIssue, network: pageNetwork, alerts: pageAlerts,
  statistics: pageStatistics };
ROUTES.drafts = pageDrafts;
ROUTES.upload = pageUpload;
ROUTES.requests = pageRequests;

function route(moveFocus = true) {
  if (!token.get() || !state.status) return;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  const name = ROUTES[parts[0]] ? parts[0] : 'check';
  if (cleanup) { cleanup(); cleanup = null; }
  const view = $('#view');
  view.replaceChildren();
  cleanup = ROUTES[name](view, parts.slice(1)) || null;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.id === `nav-${name}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (moveFocus) $('#page-title')?.focus();
  refreshAlertCount();
  refreshDraftCount();
}

// ---------------------------------------------------------------- boot

function boot() {
  const langSel = $('#lang');
  const offered = LOCALES.includes(getLocale()) ? LOCALES : [...LOCALES, getLocale()];
  langSel.replaceChildren(...offered.map((l) => h('option', { value: l, lang: l, text: localeName(l) })));
  langSel.value = getLocale();
  setLocale(getLocale());
  langSel.addEventListener('change', () => setLocale(langSel.value));
  $('#skip').addEventListener('click', (e) => { e.preventDefault(); $('#main').focus(); });
  $('#signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $('#token').value.trim();
    if (v) signIn(v);
  });
  $('#signout').addEventListener('click', () => { token.clear(); showSignin(null); });
  setUnauthorizedHandler(() => showSignin('signin.expired'));
  window.addEventListener('hashchange', () => route(true));
  const saved = token.get();
  if (saved) signIn(saved); else showSignin(null);
}

boot();
