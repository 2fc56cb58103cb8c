// drafts-notice.js: what every page that writes shares about the second pair
// of eyes (`[issue] approvals = 2`, docs/API.md): a write kept as a draft
// answers 202 {"draft", "awaiting"}, and the page says "sent for approval"
// with a link to the Drafts page (draftNotice). The navigation's Drafts entry
// shows to tokens that may approve (GET /v1/drafts answers them) with the
// count of drafts waiting (refreshDraftCount, hideDraftCount).
//
// For a form: `const r = await api('POST', ...); if (isDraft(r)) { out.append(draftNotice(r)); return; }`

import { api, token } from './api.js';
import { h } from './dom.js';

/** Whether an answer is a write kept as a draft (202 {"draft", "awaiting"}), not done. */
export const isDraft = (r) => Boolean(r && typeof r === 'object' && typeof r.draft === 'string' && r.awaiting);

/**
 * "Sent for approval": the draft's id and a link to the Drafts page, as a
 * status paragraph (p.draft-notice[data-draft]). Refreshes the navigation's count.
 */
export function draftNotice(r) {
  refreshDraftCount();
  return h('div', { class: 'alert warn draft-notice', role: 'status', 'data-draft': r.draft },
    h('p', {}, h('span', { 'aria-hidden': 'true' }, '⏳ '), h('strong', { i18n: 'drafts.sent' }), ' ',
      h('code', { class: 'draft-id', text: r.draft })),
    h('p', {}, h('span', { i18n: 'drafts.sentHint' }), ' ', h('a', { href: '#/drafts', i18n: 'drafts.open' })));
}

/** Shows or hides the navigation's entries only an issuer uses (their <li>). */
function showIssuerEntries(on) {
  for (const id of ['nav-drafts', 'nav-upload']) {
    const a = document.getElementById(id);
    if (a && a.parentElement) a.parentElement.hidden = !on;
  }
}

let seq = 0;

/**
 * Re-reads the drafts waiting: a token that may not list them (403) sees no
 * Drafts or Upload entry; others see the count. The newest answer wins.
 */
export async function refreshDraftCount() {
  if (!token.get()) return;
  const mine = ++seq;
  let list;
  try {
    list = await api('GET', '/v1/drafts');
  } catch (e) {
    if (mine === seq && (e.status === 403 || e.status === 401)) showIssuerEntries(false);
    return; // other errors: the page in view reports them; the count keeps its last value
  }
  if (mine !== seq) return;
  showIssuerEntries(true);
  const n = Array.isArray(list?.drafts) ? list.drafts.length : 0;
  const el = document.getElementById('nav-drafts-count');
  if (!el) return;
  el.dataset.count = String(n);
  el.classList.toggle('some', n > 0);
  el.replaceChildren(h('span', { class: 'n', text: String(n) }),
    h('span', { class: 'sr-only' }, ' ', h('span', { i18n: 'drafts.navWaiting' })));
  el.hidden = false;
}

/** At sign-out: no entries, no count. */
export function hideDraftCount() {
  seq++;
  showIssuerEntries(false);
  const el = document.getElementById('nav-drafts-count');
  if (el) { el.hidden = true; el.replaceChildren(); }
}
