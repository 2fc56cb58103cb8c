// dom.js: the console's only way to build DOM: h() creates elements and sets
// text through text nodes (never innerHTML), plus small shared renderers
// (error alert, definition list, tables, generic value formatting).

import { t, tr, trAttr, trValue } from './i18n.js';

/**
 * h('p', {class, id, text, i18n: 'key' | ['key', args], l10n: {date|num|money|country}, on: {click}}, ...children)
 * Any other prop becomes an attribute; value/checked/hidden/disabled/etc. are set as properties.
 */
const PROPS = new Set(['value', 'checked', 'hidden', 'disabled', 'required', 'readOnly', 'selected', 'tabIndex', 'type']);
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'i18n') Array.isArray(v) ? tr(el, v[0], v[1]) : tr(el, v);
    else if (k === 'i18nAttr') trAttr(el, v);
    else if (k === 'l10n') trValue(el, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'class') el.className = v;
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

/** A field: a visible <label for> and the given control (which must have an id). */
export function field(labelKey, control, hintKey) {
  return h('div', { class: 'field' }, h('label', { for: control.id, i18n: labelKey }), control,
    hintKey ? h('p', { class: 'hint', i18n: hintKey }) : null);
}

/** An empty alert region (role=alert) that showError() fills. */
export const errorBox = (id) => h('div', { id, class: 'alert error', role: 'alert', hidden: true });

export function showError(box, e) {
  box.hidden = false;
  const code = e.code || 'error';
  const hintKey = e.status === 0 ? 'err.network' : `err.${code}`;
  // replaceChildren would write a null as the text "null": only nodes.
  box.replaceChildren(...[
    h('p', {}, h('strong', {}, '✘ ', h('span', { i18n: 'err.title' })), ' ',
      h('code', { class: 'err-code', text: e.status ? `${e.status} ${code}` : code })),
    t(hintKey) !== hintKey ? h('p', { i18n: hintKey }) : null,
    e.message ? h('p', { class: 'err-message', text: e.message }) : null,
    faultList(e.details)].filter(Boolean));
  box.scrollIntoView({ block: 'nearest' });
}

/** Every fault of a refused document beyond the first (which the message
 * names), each with where it is in the body; text from the node is set as
 * text, never as markup. */
function faultList(details) {
  if (!Array.isArray(details) || details.length < 2) return null;
  return h('div', { class: 'err-faults' },
    h('p', { i18n: 'err.faults' }),
    h('ul', {}, ...details.map((d) => h('li', {},
      h('code', { class: 'err-pointer', text: String(d.pointer || '/') }), ' ',
      h('span', { text: String(d.message || '') })))));
}

export function clearError(box) { box.hidden = true; box.replaceChildren(); }

/** A definition list from [labelKey, value] pairs; null values are skipped. */
export function dl(pairs, cls = 'facts') {
  return h('dl', { class: cls }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [h('dt', { i18n: k }), h('dd', {}, v instanceof Node ? v : fmt(v))]));
}

/** Scalars as text, arrays joined, objects by name or as compact JSON. */
export function fmt(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (Array.isArray(v)) return v.length ? v.map(fmt).join(', ') : '—';
  if (typeof v === 'object') {
    if (typeof v.name === 'string') return v.id ? `${v.name} (${v.id})` : v.name;
    return JSON.stringify(v);
  }
  return String(v);
}

/** A value written for the locale (i18n.js localize), e.g. loc({country: 'MX'}); nothing for a missing value. */
export function loc(v, props = {}) {
  return v === null || v === undefined ? null : h('span', { ...props, l10n: v });
}

/** First n characters of a hash, the full value in a title. */
export function short(hash, n = 12) {
  const s = String(hash ?? '');
  return h('code', { title: s, class: 'hash' }, s.length > n ? `${s.slice(0, n)}…` : s);
}

let labelSeq = 0;
/** The id of what names a table: its caption, or the heading right before it. */
function labelOf(wrap) {
  const prev = wrap.previousElementSibling;
  const el = wrap.querySelector('caption') || (prev && /^H[1-6]$/.test(prev.tagName) ? prev : null);
  if (el && !el.id) el.id = `table-label-${++labelSeq}`;
  return el?.id;
}

/**
 * A table's scrolling box: while it overflows (a narrow screen, a long key),
 * a region named like its table, in the tab order so a keyboard can scroll it;
 * otherwise no tab stop.
 */
const overflow = typeof ResizeObserver === 'function' ? new ResizeObserver((seen) => {
  for (const { target } of seen) {
    if (!target.isConnected) { overflow.unobserve(target); continue; }
    if (target.scrollWidth > target.clientWidth + 1) {
      target.tabIndex = 0;
      target.setAttribute('role', 'region');
      const label = labelOf(target);
      if (label) target.setAttribute('aria-labelledby', label); else trAttr(target, { 'aria-label': 'table.scroll' });
    } else if (target.hasAttribute('role')) {
      for (const a of ['tabindex', 'role', 'aria-label', 'aria-labelledby', 'data-i18n-attr']) target.removeAttribute(a);
    }
  }
}) : null;

export function tableWrap(...kids) {
  const wrap = h('div', { class: 'table-wrap' }, ...kids);
  overflow?.observe(wrap);
  return wrap;
}

/**
 * table({id, caption: key, cols: [[key, fn(row) -> node|string]], rows, rowAttrs: fn(row) -> props})
 * wrapped in a scrolling container so narrow screens never overflow the page.
 */
export function table({ id, caption, cols, rows, rowAttrs, cls }) {
  return tableWrap(
    h('table', { id, class: cls },
      caption ? h('caption', { i18n: caption }) : null,
      h('thead', {}, h('tr', {}, cols.map(([k]) => h('th', { scope: 'col', i18n: k })))),
      h('tbody', {}, rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : {},
        cols.map(([, fn], i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : {}, fn(r))))))));
}

/** Any JSON as a table: arrays of objects get one column per key, objects become field/value rows. */
export function genericTable(data, id) {
  if (data && !Array.isArray(data) && typeof data === 'object') {
    const arr = Object.values(data).find(Array.isArray);
    if (arr && Object.keys(data).length === 1) data = arr;
  }
  if (Array.isArray(data)) {
    if (!data.length) return h('p', { i18n: 'none' });
    if (data.every((r) => r && typeof r === 'object' && !Array.isArray(r))) {
      const keys = [...new Set(data.flatMap(Object.keys))];
      return tableWrap(h('table', { id },
        h('thead', {}, h('tr', {}, keys.map((k) => h('th', { scope: 'col', text: k })))),
        h('tbody', {}, data.map((r) => h('tr', {}, keys.map((k) => h('td', {}, fmt(r[k]))))))));
    }
    return h('ul', { id }, data.map((v) => h('li', {}, fmt(v))));
  }
  if (data && typeof data === 'object') {
    return tableWrap(h('table', { id },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', i18n: 'col.key' }), h('th', { scope: 'col', i18n: 'col.value' }))),
      h('tbody', {}, Object.entries(data).map(([k, v]) => h('tr', {}, h('th', { scope: 'row', text: k }), h('td', {}, fmt(v)))))));
  }
  return h('p', { id, text: fmt(data) });
}
