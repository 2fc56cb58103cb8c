// requests.js: the Requests page (#/requests), the importing officer's work
// list: the end-use requests other States asked this country (active, read
// by this node) that this authority has not answered yet, oldest first,
// each with what to confirm and a form to answer it (confirmed, not issued
// by us, withdrawn, unknown, and a comment). Answering signs an
// `enduse_answer` (POST /v1/licenses); the request then leaves the list.

import { api, ApiError } from './api.js';
import { h, field, errorBox, showError, clearError, dl, fmt } from './dom.js';
import { licenseLink, ownAuthority, ownCountry, pageTitle, raisedAt } from './common.js';

const ANSWERS = ['confirmed', 'not_issued_by_us', 'withdrawn', 'unknown'];
const PAGE = 200;

/** Every summary of `query`, page after page (bounded). */
async function all(query) {
  const out = [];
  let before = '';
  for (let i = 0; i < 20; i++) {
    const page = await api('GET', `/v1/licenses?${query}&limit=${PAGE}${before ? `&before=${encodeURIComponent(before)}` : ''}`);
    out.push(...(Array.isArray(page.licenses) ? page.licenses : []));
    if (!page.next) break;
    before = page.next;
  }
  return out;
}

/** What a request asks to confirm, from the node's text (set as text). */
function asked(r) {
  const c = r.end_user_certificate;
  if (c && typeof c === 'object') {
    return h('span', { i18n: ['lic.eucText', { number: String(c.number ?? ''), date: { date: c.date }, issued_by: String(c.issued_by ?? '') }] });
  }
  return r.import_certificate ? licenseLink(r.import_certificate) : null;
}

/** A number for the answer, in this authority's space: the request's, prefixed. */
const answerNumber = (r) => `RES-${r.authority}-${r.number}`.slice(0, 64);

function requestCard(r, i, done) {
  const n = `${r.authority}/${r.number}`;
  const err = errorBox(`answer-error-${i}`);
  const choice = h('select', { id: `answer-choice-${i}`, class: 'answer-choice' },
    ANSWERS.map((a) => h('option', { value: a, i18n: `answer.${a}` })));
  const comment = h('input', { id: `answer-comment-${i}`, class: 'answer-comment', type: 'text', autocomplete: 'off' });
  const number = h('input', { id: `answer-number-${i}`, class: 'answer-number', type: 'text', value: answerNumber(r),
    autocomplete: 'off', spellcheck: 'false' });
  const submit = h('button', { type: 'submit', class: 'primary answer-submit', i18n: 'req.answer' });
  const form = h('form', { class: 'answer-form' },
    h('div', { class: 'grid' }, field('req.yourAnswer', choice), field('req.comment', comment), field('f.number', number)),
    err, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(err);
    submit.disabled = true;
    const doc = { kind: 'enduse_answer', number: number.value.trim(), importing_country: ownCountry(),
      exporting_country: r.exporting_country, request: { authority: r.authority, number: r.number },
      answer: choice.value, date: new Date().toISOString().slice(0, 10) };
    if (comment.value.trim()) doc.comment = comment.value.trim();
    try {
      await api('POST', '/v1/licenses', doc);
      done(r, doc.number);
    } catch (ex) {
      showError(err, ex instanceof ApiError ? ex : new ApiError(0, 'network', String(ex)));
      submit.disabled = false;
    }
  });
  return h('article', { class: 'card enduse-request', 'data-request': n },
    h('h3', {}, licenseLink({ authority: r.authority, number: r.number })),
    dl([['req.from', fmt(r.authority)], ['req.asked', raisedAt(r.date)], ['req.what', asked(r)],
      ['fm.enduseLicense', fmt(r.export_license)], ['party.end_user', r.end_user && fmt(r.end_user.name)]]),
    form);
}

export function pageRequests(view) {
  const status = h('p', { id: 'requests-status', role: 'status', 'aria-live': 'polite' });
  const list = h('div', { id: 'requests-list' });
  const err = errorBox('requests-error');
  view.append(pageTitle('req.title'), h('p', { class: 'hint', i18n: 'req.hint' }), err, status, list);
  const done = (r, answered) => {
    list.querySelector(`[data-request="${CSS.escape(`${r.authority}/${r.number}`)}"]`)?.remove();
    status.replaceChildren(h('span', { i18n: ['req.answered', { number: answered, request: r.number }] }));
    if (!list.querySelector('.enduse-request')) list.replaceChildren(h('p', { id: 'requests-empty', i18n: 'req.none' }));
  };
  (async () => {
    try {
      const [requests, answers] = await Promise.all([
        all(`kind=enduse_request&importing=${encodeURIComponent(ownCountry())}&status=active`),
        all(`kind=enduse_answer&authority=${encodeURIComponent(ownAuthority())}`),
      ]);
      const answered = new Set(answers.filter((a) => a.status !== 'revoked' && a.request)
        .map((a) => `${a.request.authority}/${a.request.number}`));
      const open = requests.filter((r) => !answered.has(`${r.authority}/${r.number}`))
        .sort((a, b) => String(a.date).localeCompare(String(b.date)));
      list.replaceChildren(...(open.length ? open.map((r, i) => requestCard(r, i, done)) : [h('p', { id: 'requests-empty', i18n: 'req.none' })]));
    } catch (e) {
      showError(err, e);
    }
  })();
  return null;
}
