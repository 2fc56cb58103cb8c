// answer.js: the verifier's three answers on screen, and the fields of the
// document large enough to compare with the paper and the goods. Every
// text that comes from a seal or a bundle is set with textContent (through
// el() and tr()), never parsed as HTML: a seal is anyone's to print.

import { tr, trValue, t } from '/assets/i18n.js';

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'i18n') tr(e, ...(Array.isArray(v) ? v : [v]));
    else if (k === 'l10n') trValue(e, v);
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

/** Empties `node` and puts `children` in it. */
export function fill(node, ...children) {
  node.replaceChildren();
  for (const c of children.flat()) if (c) node.append(c);
  return node;
}

/**
 * Whether a post fits the document's route: off, on (with its role there:
 * exit, transit or entry), point_differs (the country is on the route but
 * the document names other entry or exit points), or unset (no post chosen).
 */
export function routeFit(s, post) {
  if (!post) return { fit: 'unset' };
  const route = s.route ?? [];
  const at = route.indexOf(post.country);
  if (at < 0) return { fit: 'off' };
  let role = 'transit';
  if (s.kind !== 'transit') role = at === 0 ? 'exit' : at === route.length - 1 ? 'entry' : 'transit';
  const points = [s.entry_point, s.exit_point].filter(Boolean);
  const point = (post.point || '').trim().toUpperCase();
  if (points.length && point && !points.some((p) => p.toUpperCase() === point)) return { fit: 'point_differs', role };
  return { fit: 'on', role };
}

const party = (p) => (p ? [p.name, p.id ? ` (${p.id})` : ''].join('') : null);

/** [label key, value] rows of a summary, in the order of the printed page. */
function rows(s) {
  const out = [
    ['pv.f.kind', { key: `pv.kind.${['export', 'import', 'transit'].includes(s.kind) ? s.kind : 'other'}` }],
    ['pv.f.number', `${s.authority} ${s.number}`],
    ['pv.f.version', String(s.version)],
    ['pv.f.issued', { date: s.issued_on }],
    ['pv.f.place', s.place_of_issue],
    ['pv.f.valid', `${s.valid_from} → ${s.valid_until}`],
    ['pv.f.route', (s.route ?? []).map((c) => ({ country: c }))],
    ['pv.f.entry', s.entry_point],
    ['pv.f.exit', s.exit_point],
    ['pv.f.exporter', party(s.exporter)],
    ['pv.f.importer', party(s.importer)],
    ['pv.f.end_user', party(s.end_user)],
    ['pv.f.carriers', s.carriers.length ? s.carriers.map(party).join('; ') : null],
    ['pv.f.linked', s.linked ? `${s.linked.authority} ${s.linked.number}` : null],
    ['pv.f.euc', s.end_user_certificate ? `${s.end_user_certificate.number}, ${s.end_user_certificate.date}, ${s.end_user_certificate.issued_by}` : null],
    ['pv.f.shipments', s.shipments ? { key: `pv.shipments.${s.shipments === 'single' ? 'single' : 'partial'}` } : null],
  ];
  return out.filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && !v.length));
}

const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');

/** A field's cell: a translated word ({key}), a localized value, or text as the seal has it. */
function cell(v) {
  if (v && typeof v === 'object' && !Array.isArray(v) && 'key' in v) return { i18n: v.key };
  return typeof v === 'object' ? { l10n: v } : { text: v };
}

/** A category or unit the console has a word for, else the seal's own text. */
const word = (ns, v) => (Object.hasOwn(KNOWN, `${ns}.${v}`) ? { i18n: `${ns}.${v}` } : { text: v });
const KNOWN = Object.fromEntries(['cat.firearm', 'cat.part', 'cat.ammunition', 'cat.explosive', 'cat.related',
  'unit.units', 'unit.kg', 'unit.rounds'].map((k) => [k, true]));

/** The document's fields and item lines, large. */
export function fields(s) {
  const table = el('table', { id: 'doc-fields', class: 'fields' },
    el('tbody', {}, rows(s).map(([k, v]) => el('tr', { 'data-field': k.slice(5) },
      el('th', { scope: 'row', i18n: k }),
      el('td', cell(v))))));
  const lines = el('table', { id: 'doc-lines', class: 'lines' },
    el('thead', {}, el('tr', {}, ['line', 'category', 'item', 'quantity', 'serials'].map((k) => el('th', { scope: 'col', i18n: `pv.l.${k}` })))),
    el('tbody', {}, s.lines.map((l) => el('tr', { 'data-line': l.line },
      el('td', { text: l.line }),
      el('td', {}, el('span', word('cat', l.category)), l.hs_code ? el('small', { text: ` HS ${l.hs_code}` }) : null),
      el('td', { text: [l.make, l.model, l.caliber].filter(Boolean).join(' · ') || '—' }),
      el('td', { class: 'qty' }, el('span', { l10n: { num: String(l.quantity) } }), ' ', el('span', word('unit', l.unit))),
      el('td', {}, el('span', { l10n: { num: String(l.serial_count) } }),
        l.serial_digest ? el('small', { class: 'digest', title: hex(l.serial_digest), text: ` #${hex(l.serial_digest).slice(0, 12)}…` }) : null)))));
  return [table, s.lines.length ? lines : null];
}

/**
 * An annex page's seal: which part of which line, its first and last
 * serial and count, large; then the document it belongs to (its identity
 * alone: the rest is on the main page's seal).
 */
export function annexFields(s, a) {
  const head = el('p', { id: 'doc-annex', class: 'annex-part', 'data-line': a.line, 'data-part': a.part, 'data-parts': a.parts, 'data-count': String(a.count),
    i18n: ['pv.annex.part', { part: { num: a.part }, parts: { num: a.parts }, line: String(a.line), first: a.first, last: a.last, count: { num: String(a.count) } }] });
  const table = el('table', { id: 'doc-fields', class: 'fields' },
    el('tbody', {},
      el('tr', { 'data-field': 'kind' }, el('th', { scope: 'row', i18n: 'pv.f.kind' }), el('td', cell({ key: `pv.kind.${['export', 'import', 'transit'].includes(s.kind) ? s.kind : 'other'}` }))),
      el('tr', { 'data-field': 'number' }, el('th', { scope: 'row', i18n: 'pv.f.number' }), el('td', { text: `${s.authority} ${s.number}` })),
      el('tr', { 'data-field': 'version' }, el('th', { scope: 'row', i18n: 'pv.f.version' }), el('td', { text: String(s.version) })),
      el('tr', { 'data-field': 'annex_serials' }, el('th', { scope: 'row', i18n: 'pv.annex.serials' }),
        el('td', {}, el('span', { text: `${a.first} … ${a.last}` }), el('small', { class: 'digest', title: hex(a.digest), text: ` #${hex(a.digest).slice(0, 12)}…` })))));
  return [head, el('p', { class: 'detail', i18n: 'pv.annex.help' }), table];
}

/** The first answer: genuine, altered, untrusted, not_a_seal or unreadable. */
export function genuineAnswer(a) {
  const box = el('div', { id: 'answer-genuine', class: `answer v-${a.verdict}`, 'data-verdict': a.verdict, role: 'status' },
    el('p', { class: 'q', i18n: 'pv.q.genuine' }),
    el('p', { class: 'big', i18n: `pv.verdict.${a.verdict}` }),
    el('p', { class: 'why', i18n: a.why === 'compromised' ? 'pv.verdict.compromised' : `pv.verdict.${a.verdict}.why` }));
  if (a.why === 'no_bundle') box.append(el('p', { class: 'why', i18n: 'pv.verdict.no_bundle' }));
  if (a.reason) box.append(el('p', { class: 'detail', text: a.reason }));
  return box;
}

/** The second answer: the status as of the bundle, with the bundle's age. */
export function statusAnswer(a, bundleAge, bundleDate) {
  const box = el('div', { id: 'answer-status', class: `answer s-${a.status}`, 'data-status': a.status },
    el('p', { class: 'q', i18n: 'pv.q.status' }));
  if (a.status === 'n/a') {
    box.append(el('p', { class: 'big na', i18n: 'pv.status.na' }));
    return box;
  }
  box.append(el('p', { class: 'big', i18n: a.status === 'superseded' ? ['pv.status.superseded_by', { version: String(a.version) }] : `pv.status.${a.status}` }));
  if (a.tooOld) box.append(el('p', { class: 'warn', i18n: ['pv.status.too_old', { listed: t(`pv.status.${a.listed}`) }] }));
  if (bundleDate) {
    const hours = Math.max(0, Math.floor(bundleAge.ms / 3600000));
    box.append(el('p', { class: bundleAge.level === 'fresh' ? 'detail' : 'warn', 'data-age': bundleAge.level,
      i18n: [`pv.age.${bundleAge.level}`, { date: bundleDate, hours: { num: hours } }] }));
  }
  return box;
}

/** The third answer: whether this post fits the route. */
export function routeAnswer(r, s, post) {
  const box = el('div', { id: 'answer-route', class: `answer r-${r.fit}`, 'data-fit': r.fit },
    el('p', { class: 'q', i18n: 'pv.q.route' }));
  if (r.fit === 'annex') {
    box.append(el('p', { class: 'big na', i18n: 'pv.fit.annex' }));
    return box;
  }
  if (r.fit === 'n/a' || r.fit === 'unset') {
    box.append(el('p', { class: r.fit === 'unset' ? 'big' : 'big na', i18n: `pv.fit.${r.fit === 'unset' ? 'unset' : 'na'}` }));
    return box;
  }
  const where = post.point ? `${post.country} ${post.point}` : post.country;
  box.append(el('p', { class: 'big', i18n: [`pv.fit.${r.fit}`, { post: where }] }));
  if (r.role) box.append(el('p', { class: 'detail', i18n: `pv.role.${r.role}` }));
  if (s.entry_point || s.exit_point) {
    box.append(el('p', { class: 'detail', i18n: ['pv.fit.points', { entry: s.entry_point || '—', exit: s.exit_point || '—' }] }));
  }
  return box;
}
