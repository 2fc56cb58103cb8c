// form-submit.js: how every issue form is sent. The fields are checked as
// they stand; then the document goes to the node with ?dry_run=true, which
// runs every rule and signs nothing. A refusal's faults (422 details) are
// shown at their fields; only when the dry run passes is the document sent
// for real (after a confirmation when the dry run warned, e.g. no one in a
// party country can read it). The JSON editor uses the same path.

import { api, seg } from './api.js';
import { h, showError, clearError } from './dom.js';
import { checkAll, clearMarks, showFaults } from './form-kit.js';
import { licenseHref } from './common.js';
import { draftNotice, isDraft } from './drafts-notice.js';

/** The result of a write: issued or amended (with a link), or kept as a draft for a second person's approval. */
export function resultView(r, doc, amending, authority) {
  const number = r?.number || doc.number;
  const auth = r?.authority || authority;
  if (isDraft(r)) return [draftNotice(r)];
  const msg = amending ? ['issue.amended', { number, version: r?.version, seq: r?.entry?.seq }]
    : ['issue.done', { authority: auth, number, seq: r?.entry?.seq }];
  return [h('p', { class: 'ok-text', id: 'issue-done', 'data-number': number }, '✔ ', h('span', { i18n: msg })),
    h('a', { href: licenseHref(auth, number), i18n: 'issue.open' })];
}

/**
 * Sends `build()` to `path()` (a dry run first) when `form` is submitted.
 * `after(r, doc)` runs once signed. Returns nothing; the form's submit
 * button is busy while a request runs.
 */
export function sendOnSubmit(form, { errBox, result, build, path, authority, amending = false, after }) {
  const busy = (on) => { for (const b of form.querySelectorAll('button[type="submit"]')) b.disabled = on; };
  const fail = (ex) => {
    const { first } = showFaults(form, ex.details);
    showError(errBox, ex);
    (first || errBox).focus?.();
  };
  async function sign(doc) {
    busy(true);
    try {
      const r = await api('POST', path(doc), doc);
      result.replaceChildren(...resultView(r, doc, amending(), authority()));
      after?.(r, doc);
    } catch (ex) { fail(ex); } finally { busy(false); }
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearMarks(form);
    clearError(errBox);
    result.replaceChildren();
    const bad = checkAll(form);
    if (bad) {
      showError(errBox, { code: 'local_fields' });
      bad.focus();
      return;
    }
    const doc = build();
    busy(true);
    let dry;
    try {
      dry = await api('POST', `${path(doc)}?dry_run=true`, doc);
    } catch (ex) {
      busy(false);
      fail(ex);
      return;
    } finally { busy(false); }
    const warnings = Array.isArray(dry?.warnings) ? dry.warnings : [];
    if (!warnings.length) { await sign(doc); return; }
    const yes = h('button', { type: 'button', class: 'primary', i18n: 'fm.signAnyway', on: { click: () => { result.replaceChildren(); sign(doc); } } });
    result.replaceChildren(h('div', { class: 'alert warn', id: `${form.id}-warnings` },
      h('p', { i18n: 'fm.dryWarned' }), h('ul', {}, warnings.map((w) => h('li', { text: String(w) }))),
      h('div', { class: 'buttons' }, yes)));
    yes.focus();
  });
}

/** The path of a new document, or of an amendment of this node's `number`. */
export const issuePath = () => '/v1/licenses';
export const amendPath = (authority) => (doc) => `/v1/licenses/${seg(authority())}/${seg(doc.number ?? '')}/amend`;
