// app.js: the offline paper verifier's page. It registers the service
// worker (sw.js) that keeps the app on the device, pins this node's paper
// key (/paper/pin.json), fetches the trust bundle once with an officer token
// (the token is used for that one request and never kept) and keeps it only
// when its signature holds under the pin, remembers the officer's post, and
// answers three separate questions for each seal scanned: is the paper
// genuine, what is its status as of the bundle, does this post fit its route.

import { LOCALES, applyI18n, formatDate, getLocale, localeName, setLocale, t, tr } from '/assets/i18n.js';
import { NotASeal, read, genuine } from './seal.js';
import * as B from './bundle.js';
import * as S from './store.js';
import { cameraAvailable, fromFile, startCamera } from './scan.js';
import { Consignment } from './consignment.js';
import { annexFields, el, fields, fill, genuineAnswer, routeAnswer, routeFit, statusAnswer } from './answer.js';

const $ = (id) => document.getElementById(id);
/** How far the device clock may trail the bundle's date before a warning. */
const CLOCK_SLACK_MS = 5 * 60 * 1000;

const state = { pin: null, bundle: null, refused: false, seq: 0, stopCamera: null };
const consignment = new Consignment();

function show(node, on) { node.hidden = !on; }

function setNet() {
  const online = navigator.onLine;
  $('net').dataset.online = String(online);
  tr($('net'), online ? 'pv.net.online' : 'pv.net.offline');
}

async function loadPin() {
  try {
    const res = await fetch('/paper/pin.json', { headers: { Accept: 'application/json' } });
    if (res.ok) {
      const pin = await res.json();
      if (typeof pin?.authority === 'string' && /^[0-9a-f]{64}$/.test(pin?.paper_key ?? '')) {
        await S.save('pin', { authority: pin.authority, paper_key: pin.paper_key });
        return pin;
      }
    }
  } catch { /* offline: the pin kept */ }
  return S.load('pin');
}

async function loadBundle() {
  const kept = await S.load('bundle');
  if (!kept) return;
  if (state.pin && await B.verify(kept, state.pin.paper_key)) {
    state.bundle = kept;
  } else {
    state.refused = true;
    await S.remove('bundle');
  }
}

function renderBundle() {
  const box = $('bundle-state');
  const b = state.bundle;
  if (!state.pin) {
    box.dataset.state = 'no_pin';
    fill(box, el('p', { class: 'error', i18n: 'pv.bundle.no_pin' }));
    return;
  }
  if (!b) {
    box.dataset.state = state.refused ? 'refused' : 'none';
    fill(box, el('p', { class: state.refused ? 'error' : 'warn', i18n: state.refused ? 'pv.bundle.refused' : 'pv.bundle.none' }));
    return;
  }
  const age = B.age(b, Date.now());
  box.dataset.state = age.level;
  box.dataset.producedAt = String(b.produced_at);
  fill(box,
    el('p', { i18n: ['pv.bundle.held', { node: b.produced_by, date: { date: new Date(b.produced_at).toISOString() }, authorities: { num: b.authorities.length }, documents: { num: b.statuses.length } }] }),
    el('p', { class: age.level === 'fresh' ? 'detail' : 'warn', 'data-age': age.level, i18n: [`pv.age.${age.level}`, { date: { date: new Date(b.produced_at).toISOString() }, hours: { num: Math.max(0, Math.floor(age.ms / 3600000)) } }] }));
  const behind = Date.now() < b.produced_at - CLOCK_SLACK_MS;
  show($('clock-warning'), behind);
  if (behind) tr($('clock-warning'), 'pv.clock.behind', { date: { date: new Date(b.produced_at).toISOString() } });
  $('clock-warning').dataset.clock = behind ? 'behind' : 'ok';
}

async function fetchBundle(ev) {
  ev.preventDefault();
  const input = $('token');
  const token = input.value.trim();
  input.value = '';
  const err = $('bundle-error');
  show(err, false);
  const fail = (key) => { tr(err, key); show(err, true); };
  if (!token) { fail('pv.bundle.token_needed'); return; }
  if (!state.pin) state.pin = await loadPin();
  if (!state.pin) { fail('pv.bundle.no_pin'); return; }
  let res;
  try {
    res = await fetch('/v1/paper/bundle', { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, cache: 'no-store' });
  } catch { fail('pv.bundle.offline'); return; }
  if (res.status === 401 || res.status === 403) { fail('pv.bundle.bad_token'); return; }
  if (!res.ok) { fail('pv.bundle.unavailable'); return; }
  let b;
  try { b = await res.json(); } catch { fail('pv.bundle.refused'); return; }
  if (!(await B.verify(b, state.pin.paper_key))) { fail('pv.bundle.refused'); return; }
  if (!(await S.save('bundle', b))) { fail('pv.bundle.not_kept'); }
  state.bundle = b;
  state.refused = false;
  renderBundle();
}

function renderPost() {
  const p = S.post();
  $('post-country').value = p?.country ?? '';
  $('post-point').value = p?.point ?? '';
  if (p) tr($('post-current'), 'pv.post.current', { post: p.point ? `${p.country} ${p.point}` : p.country });
  else tr($('post-current'), 'pv.post.none');
}

function savePost(ev) {
  ev.preventDefault();
  const country = $('post-country').value.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) { $('post-country').focus(); return; }
  S.setPost({ country, point: $('post-point').value.trim().toUpperCase().slice(0, 16) });
  renderPost();
}

/** The three answers for a seal's text (null: the photo did not read). */
async function answers(text) {
  if (text === null) return { verdict: { verdict: 'unreadable' } };
  let r;
  try { r = await read(text); } catch (e) {
    if (e instanceof NotASeal) return { verdict: { verdict: 'not_a_seal', reason: e.message } };
    throw e;
  }
  const b = state.bundle;
  const verdict = await genuine(r, B.paperKeys(b));
  if (!b) verdict.why = 'no_bundle';
  const out = { r, verdict, status: { status: 'n/a' }, fit: { fit: 'n/a' } };
  if (verdict.verdict === 'genuine') {
    const st = b ? B.statusOf(b, r, Math.floor(Date.now() / 1000)) : { status: 'unknown' };
    if (b && B.age(b, Date.now()).level === 'too_old') out.status = { status: 'unknown', tooOld: true, listed: st.status };
    else out.status = st;
    // An annex page's seal names no route: its main page's does.
    out.fit = r.annex ? { fit: 'annex' } : routeFit(r.summary, S.post());
  }
  return out;
}

function issuerLine(s) {
  const name = B.authorityName(state.bundle, s.authority);
  const node = state.pin?.authority ?? '';
  const contact = B.authorityContact(state.bundle, s.authority);
  if (contact) return tr($('issuer'), 'pv.issuer.contact', { authority: s.authority, name: name ?? s.authority, contact });
  return tr($('issuer'), 'pv.issuer', { authority: s.authority, name: name ?? s.authority, node });
}

function renderDocument(a) {
  const doc = $('document');
  if (!a.r) { fill(doc); $('issuer').textContent = ''; return; }
  const s = a.r.summary;
  const warn = a.verdict.verdict !== 'genuine' ? el('p', { class: 'warn', i18n: 'pv.fields.unvouched' }) : null;
  const printed = el('p', { class: 'detail', i18n: ['pv.printed', { date: { date: new Date(a.r.times.printed_at * 1000).toISOString() } }] });
  const future = a.r.times.printed_at * 1000 > Date.now() + CLOCK_SLACK_MS
    ? el('p', { class: 'warn', 'data-clock': 'printed_later', i18n: 'pv.clock.printed_later' }) : null;
  fill(doc, warn, printed, future, a.r.annex ? annexFields(s, a.r.annex) : fields(s));
  issuerLine(s);
}

function renderConsignment() {
  const box = $('consignment');
  show(box, consignment.size > 0);
  const docs = consignment.documents.map((d) => el('li', { 'data-kind': d.summary.kind },
    el('strong', { i18n: `pv.kind.${d.summary.kind}` }), ` ${d.summary.authority} ${d.summary.number} v${d.summary.version} — `,
    el('span', { i18n: `pv.status.${d.status}` })));
  const annexes = consignment.annexes.map((d) => el('li', { 'data-annex': `${d.annex.line}/${d.annex.part}` },
    el('span', { i18n: ['pv.annex.held', { authority: d.summary.authority, number: d.summary.number, version: String(d.summary.version), line: String(d.annex.line), part: { num: d.annex.part }, parts: { num: d.annex.parts }, count: { num: String(d.annex.count) } }] })));
  fill($('consignment-docs'), docs, annexes);
  // ok: true (matches), false (does not), null (parts still to scan).
  const mark = (ok) => (ok === null ? 'pv.check.pending' : ok ? 'pv.check.ok' : 'pv.check.bad');
  fill($('consignment-checks').tBodies[0], consignment.checks().map((c) => el('tr', { 'data-check': c.id, 'data-ok': String(c.ok), 'data-line': c.line ?? null },
    el('td', { class: 'mark', i18n: mark(c.ok) }),
    el('td', { i18n: [`pv.check.${c.id}`, c.args] }))));
}

function renderLog() {
  const post = (p) => (p ? `${p.country}${p.point ? ` ${p.point}` : ''}` : '—');
  fill($('log-table').tBodies[0], S.log().map((e) => el('tr', { 'data-verdict': e.verdict },
    el('td', { text: formatDate(new Date(e.at).toISOString()) }),
    el('td', { text: e.document ?? '—' }),
    el('td', { i18n: `pv.verdict.${e.verdict}` }),
    el('td', e.status && e.status !== 'n/a' ? { i18n: `pv.status.${e.status}` } : { text: '—' }),
    el('td', { text: post(e.post) }))));
}

async function check(text) {
  renderBundle(); // the bundle's age and the clock, as of this check
  show($('busy'), true);
  let a;
  try { a = await answers(text); } finally { show($('busy'), false); }
  const b = state.bundle;
  const age = b ? B.age(b, Date.now()) : null;
  const date = b ? { date: new Date(b.produced_at).toISOString() } : null;
  const s = a.r?.summary;
  fill($('answers'),
    genuineAnswer(a.verdict),
    statusAnswer(a.status ?? { status: 'n/a' }, age, date),
    routeAnswer(a.fit ?? { fit: 'n/a' }, s, S.post()));
  renderDocument(a);
  const annex = a.r?.annex;
  if (a.verdict.verdict === 'genuine') consignment.add({ summary: s, annex, verdict: 'genuine', status: a.status.status });
  renderConsignment();
  const named = s ? `${s.authority} ${s.number} v${s.version}${annex ? ` (${annex.line}: ${annex.part}/${annex.parts})` : ''}` : null;
  S.logCheck({ at: Date.now(), document: named, verdict: a.verdict.verdict, status: a.status?.status ?? null, post: S.post() });
  renderLog();
  state.seq += 1;
  const result = $('result');
  result.dataset.seq = String(state.seq);
  show(result, true);
  result.scrollIntoView({ block: 'start' });
}

async function onPhoto() {
  const input = $('photo');
  const file = input.files?.[0];
  if (!file) return;
  show($('busy'), true);
  let text = null;
  try { text = await fromFile(file); } finally { input.value = ''; }
  await check(text);
}

async function camera(on) {
  const err = $('camera-error');
  show(err, false);
  if (!on) {
    state.stopCamera?.();
    state.stopCamera = null;
  } else {
    try {
      // The first frame may read before startCamera returns: the camera is then stopped already.
      let read = false;
      const stop = await startCamera($('camera'), (text) => { read = true; state.stopCamera = null; camera(false); check(text); });
      if (!read) state.stopCamera = stop;
    } catch (e) {
      const key = e?.name === 'NotAllowedError' ? 'pv.camera.denied' : e?.name === 'NotFoundError' ? 'pv.camera.none' : 'pv.camera.failed';
      tr(err, key);
      show(err, true);
    }
  }
  const running = Boolean(state.stopCamera);
  show($('camera'), running);
  show($('camera-stop'), running);
  show($('camera-start'), !running && cameraAvailable());
}

function languages() {
  const sel = $('lang');
  fill(sel, LOCALES.map((l) => el('option', { value: l, lang: l, text: localeName(l) })));
  sel.value = LOCALES.includes(getLocale()) ? getLocale() : 'en';
  sel.addEventListener('change', async () => {
    await setLocale(sel.value);
    document.title = t('pv.title');
    renderLog();
  });
}

async function registerWorker() {
  if (!('serviceWorker' in navigator)) return false;
  try {
    await navigator.serviceWorker.register('/paper/sw.js', { scope: '/paper/' });
    await navigator.serviceWorker.ready;
    return true;
  } catch { return false; }
}

async function main() {
  languages();
  applyI18n();
  document.title = t('pv.title');
  setNet();
  addEventListener('online', setNet);
  addEventListener('offline', setNet);
  $('bundle-form').addEventListener('submit', fetchBundle);
  $('post-form').addEventListener('submit', savePost);
  $('photo').addEventListener('change', onPhoto);
  $('text-form').addEventListener('submit', (ev) => { ev.preventDefault(); check($('seal-text').value); });
  $('camera-start').addEventListener('click', () => camera(true));
  $('camera-stop').addEventListener('click', () => camera(false));
  $('consignment-clear').addEventListener('click', () => { consignment.clear(); renderConsignment(); });
  $('log-clear').addEventListener('click', () => { S.clearLog(); renderLog(); });
  show($('camera-start'), cameraAvailable());
  renderPost();
  renderLog();
  state.pin = await loadPin();
  await loadBundle();
  renderBundle();
  const worker = await registerWorker();
  const app = $('app-state');
  app.dataset.state = worker ? 'ready' : 'online_only';
  tr(app, worker ? 'pv.ready' : 'pv.no_worker');
}

main();
