// chart.js: the console's bar charts, drawn by hand in SVG with numeric
// labels, each with a table of the same numbers for screen readers, numbers
// written for the locale. tallyChart: the shipped-against-licensed picture
// of a license (for each item line: licensed, exit, transit, entry; input:
// the `tally` array of GET /v1/licenses/{a}/{n}). flowChart: licensed,
// exited and delivered per counterpart (the Statistics page).

import { h } from './dom.js';
import { tr, trValue } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';
const SERIES = [['licensed', 'col.licensed'], ['exit', 'dir.exit'], ['transit', 'dir.transit'], ['entry', 'dir.entry']];
/** A temporary export's rows carry `return` too: what came back. */
const RETURN_SERIES = [...SERIES, ['return', 'dir.return']];
const FLOW_SERIES = [['licensed', 'col.licensed'], ['exited', 'stats.exited'], ['delivered', 'stats.delivered']];
// viewBox units; the svg scales to its container (CSS caps it), so text stays legible on a phone
const W = 440, LEFT = 112, RIGHT = 64, BAR = 20, GAP = 6, HEAD = 28, SPACE = 16;

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = String(text);
  return el;
}

const num = (v) => (Number.isFinite(Number(v)) ? Number(v) : 0);

/** An svg#id tall enough for `groups` groups of `series` bars. */
function frame(id, groups, series) {
  const groupH = HEAD + series * (BAR + GAP);
  const svg = s('svg', {
    id, viewBox: `0 0 ${W} ${groups * (groupH + SPACE)}`, width: '100%', 'aria-hidden': 'true',
    preserveAspectRatio: 'xMinYMin meet', class: 'tally-svg',
  });
  return { svg, groupH };
}

/** One bar of series `key` at `y` in `g`: its label, the bar (sized by SVG attributes, not styles) and its value. */
function bar(g, y, [key, label], v, scale, over = false) {
  g.append(tr(s('text', { x: LEFT - 8, y: y + BAR - 5, 'text-anchor': 'end', class: 'bar-label' }), label));
  g.append(s('rect', {
    x: LEFT, y, height: BAR, width: Math.max(v * scale, v > 0 ? 2 : 0),
    class: `bar bar-${key}${over ? ' over' : ''}`, 'data-series': key, 'data-value': v,
  }));
  const value = s('text', { x: LEFT + v * scale + 6, y: y + BAR - 5, class: 'bar-value' });
  value.append(trValue(s('tspan'), { num: v }), over ? ' ⚠' : '');
  g.append(value);
}

/** The chart's numbers as a table only screen readers see: a row per group, headed by `head(row)`. */
function srTable(id, caption, firstCol, series, rows, head) {
  return h('div', { class: 'sr-only' }, h('table', { id },
    h('caption', { i18n: caption }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', i18n: firstCol }), series.map(([, k]) => h('th', { scope: 'col', i18n: k })))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, head(r)), series.map(([k]) => h('td', { l10n: { num: num(r[k]) } })))))));
}

/** rows: [{line, licensed, exit, transit, entry, return?}] -> <figure> holding svg#tally-chart and the fallback table. */
export function tallyChart(rows) {
  const series = rows && rows.some((r) => 'return' in r) ? RETURN_SERIES : SERIES;
  const fig = h('figure', { class: 'chart' }, h('figcaption', { id: 'tally-caption', i18n: 'chart.title' }));
  if (!rows || !rows.length) {
    fig.append(h('p', { i18n: 'chart.empty' }));
    return fig;
  }
  const { svg, groupH } = frame('tally-chart', rows.length, series.length);
  rows.forEach((row, i) => {
    const y0 = i * (groupH + SPACE);
    const licensed = num(row.licensed);
    const max = Math.max(1, ...series.map(([k]) => num(row[k])));
    const scale = (W - LEFT - RIGHT) / max;
    const g = s('g', { class: 'tally-line', 'data-line': row.line });
    const head = s('text', { x: 0, y: y0 + 18, class: 'group-label' });
    head.append(tr(s('tspan'), 'chart.line', { n: row.line }));
    g.append(head);
    series.forEach((series, j) => {
      const v = num(row[series[0]]);
      const over = series[0] !== 'licensed' && v > licensed;
      bar(g, y0 + HEAD + j * (BAR + GAP), series, v, scale, over);
      if (over && head.childNodes.length === 1) head.append(s('tspan', { class: 'over-note' }, ' ⚠ '), tr(s('tspan', { class: 'over-note' }), 'chart.over'));
    });
    // the licensed limit as a dashed line across the shipped bars
    const lx = LEFT + licensed * scale;
    g.append(s('line', { x1: lx, x2: lx, y1: y0 + HEAD + BAR, y2: y0 + groupH - GAP, class: 'limit' }));
    svg.append(g);
  });
  fig.append(svg, srTable('tally-table', 'chart.title', 'col.line', series, rows, (r) => String(r.line)));
  return fig;
}

/** A counterpart and this State's part, as text set from the data (never markup). */
const partLabel = (r) => h('span', {}, h('span', { l10n: { country: r.counterpart } }), ' · ', h('span', { i18n: `flow.${r.direction}` }));

/**
 * rows: [{counterpart, direction, licensed, exited, delivered}] -> <figure>
 * holding svg#flow-chart (one scale for every counterpart, so their bars
 * compare) and the fallback table.
 */
export function flowChart(rows) {
  const fig = h('figure', { class: 'chart', id: 'flow-figure' }, h('figcaption', { id: 'flow-caption', i18n: 'stats.chart' }));
  if (!rows.length) {
    fig.append(h('p', { id: 'flow-chart-empty', i18n: 'stats.chartEmpty' }));
    return fig;
  }
  const { svg, groupH } = frame('flow-chart', rows.length, FLOW_SERIES.length);
  const scale = (W - LEFT - RIGHT) / Math.max(1, ...rows.flatMap((r) => FLOW_SERIES.map(([k]) => num(r[k]))));
  rows.forEach((row, i) => {
    const y0 = i * (groupH + SPACE);
    const g = s('g', { class: 'flow-group', 'data-counterpart': row.counterpart, 'data-direction': row.direction });
    const head = s('text', { x: 0, y: y0 + 18, class: 'group-label' });
    head.append(trValue(s('tspan'), { country: row.counterpart }), ' · ', tr(s('tspan'), `flow.${row.direction}`));
    g.append(head);
    FLOW_SERIES.forEach((series, j) => bar(g, y0 + HEAD + j * (BAR + GAP), series, num(row[series[0]]), scale));
    svg.append(g);
  });
  fig.append(svg, srTable('flow-table', 'stats.chart', 'stats.col.counterpart', FLOW_SERIES, rows, partLabel));
  return fig;
}
