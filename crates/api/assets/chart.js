// chart.js: the shipped-against-licensed picture of a license: for each item
// line, an SVG group of horizontal bars (licensed, exit, transit, entry) with
// numeric labels, drawn by hand, plus a table with the same numbers for
// screen readers, numbers written for the locale. Input: the `tally` array of
// GET /v1/licenses/{a}/{n}.

import { h } from './dom.js';
import { tr, trValue } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';
const SERIES = [['licensed', 'col.licensed'], ['exit', 'dir.exit'], ['transit', 'dir.transit'], ['entry', 'dir.entry']];
// viewBox units; the svg scales to its container (CSS caps it), so text stays legible on a phone
const W = 440, LEFT = 112, RIGHT = 64, BAR = 20, GAP = 6, HEAD = 28, SPACE = 16;

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = String(text);
  return el;
}

const num = (v) => (Number.isFinite(Number(v)) ? Number(v) : 0);

/** rows: [{line, licensed, exit, transit, entry}] -> <figure> holding svg#tally-chart and the fallback table. */
export function tallyChart(rows) {
  const fig = h('figure', { class: 'chart' }, h('figcaption', { id: 'tally-caption', i18n: 'chart.title' }));
  if (!rows || !rows.length) {
    fig.append(h('p', { i18n: 'chart.empty' }));
    return fig;
  }

  const groupH = HEAD + SERIES.length * (BAR + GAP);
  const height = rows.length * (groupH + SPACE);
  const svg = s('svg', {
    id: 'tally-chart', viewBox: `0 0 ${W} ${height}`, width: '100%', 'aria-hidden': 'true',
    preserveAspectRatio: 'xMinYMin meet', class: 'tally-svg',
  });
  rows.forEach((row, i) => {
    const y0 = i * (groupH + SPACE);
    const licensed = num(row.licensed);
    const max = Math.max(1, ...SERIES.map(([k]) => num(row[k])));
    const scale = (W - LEFT - RIGHT) / max;
    const g = s('g', { class: 'tally-line', 'data-line': row.line });
    const head = s('text', { x: 0, y: y0 + 18, class: 'group-label' });
    head.append(tr(s('tspan'), 'chart.line', { n: row.line }));
    g.append(head);
    SERIES.forEach(([key, label], j) => {
      const y = y0 + HEAD + j * (BAR + GAP);
      const v = num(row[key]);
      const over = key !== 'licensed' && v > licensed;
      g.append(tr(s('text', { x: LEFT - 8, y: y + BAR - 5, 'text-anchor': 'end', class: 'bar-label' }), label));
      g.append(s('rect', {
        x: LEFT, y, height: BAR, width: Math.max(v * scale, v > 0 ? 2 : 0),
        class: `bar bar-${key}${over ? ' over' : ''}`, 'data-series': key, 'data-value': v,
      }));
      const value = s('text', { x: LEFT + v * scale + 6, y: y + BAR - 5, class: 'bar-value' });
      value.append(trValue(s('tspan'), { num: v }), over ? ' ⚠' : '');
      g.append(value);
      if (over && head.childNodes.length === 1) head.append(s('tspan', { class: 'over-note' }, ' ⚠ '), tr(s('tspan', { class: 'over-note' }), 'chart.over'));
    });
    // the licensed limit as a dashed line across the shipped bars
    const lx = LEFT + licensed * scale;
    g.append(s('line', { x1: lx, x2: lx, y1: y0 + HEAD + BAR, y2: y0 + groupH - GAP, class: 'limit' }));
    svg.append(g);
  });
  fig.append(svg);

  fig.append(h('div', { class: 'sr-only' }, h('table', { id: 'tally-table' },
    h('caption', { i18n: 'chart.title' }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', i18n: 'col.line' }), SERIES.map(([, k]) => h('th', { scope: 'col', i18n: k })))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row', text: r.line }), SERIES.map(([k]) => h('td', { l10n: { num: num(r[k]) } }))))))));
  return fig;
}
