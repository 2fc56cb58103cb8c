// network.js: the Network page (#/network): this node, peers, log heads and
// entries, equivocation evidence and trusted authorities, refreshed every 5 s.

import { api, seg } from './api.js';
import { t, getLocale } from './i18n.js';
import { h, errorBox, showError, clearError, dl, fmt, short, table, genericTable } from './dom.js';
import { showNode, mark, pageTitle, raisedAt } from './common.js';

/** How many of a log's newest entries the network page lists. */
const ENTRIES_SHOWN = 20;

/** An entry's kind as a label: a sealed one as a "sealed" badge, unknown kinds as their code. */
function entryKind(kind) {
  if (kind === 'sealed') {
    return h('span', { class: 'badge sealed', 'data-kind': 'sealed', i18n: 'entry.sealed' });
  }
  const key = [`entry.${kind}`, `kind.${kind}`].find((k) => t(k) !== k);
  return key ? h('span', { i18n: key }) : h('code', { text: String(kind ?? '') });
}

export function pageNetwork(view) {
  const updated = h('p', { id: 'net-updated', class: 'hint' });
  const err = errorBox('network-error');
  const evidence = h('div', { id: 'net-evidence' });
  const sections = {};
  const section = (id, key) => {
    sections[id] = h('div', { id: `${id}-body` });
    return h('section', { id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title`, i18n: key }), sections[id]);
  };
  view.append(pageTitle('net.title'), updated, err,
    h('section', { 'aria-labelledby': 'net-evidence-title' }, h('h2', { id: 'net-evidence-title', i18n: 'net.evidence' }), evidence),
    section('net-node', 'net.node'), section('net-peers', 'net.peers'), section('net-logs', 'net.logs'),
    section('net-entries', 'net.entries'), section('net-authorities', 'net.authorities'));
  sections['net-entries'].replaceChildren(h('p', { class: 'hint', i18n: 'net.entriesHint' }));

  let lastEvidence = null, busy = false, alive = true;
  async function refresh() {
    if (busy) return;
    busy = true;
    const [st, ev, au] = await Promise.allSettled([api('GET', '/v1/status'), api('GET', '/v1/evidence'), api('GET', '/v1/authorities')]);
    busy = false;
    if (!alive) return;
    const failed = [st, ev, au].find((r) => r.status === 'rejected');
    if (failed) showError(err, failed.reason); else clearError(err);
    if (st.status === 'fulfilled') renderStatus(st.value);
    if (ev.status === 'fulfilled') renderEvidence(Array.isArray(ev.value) ? ev.value : []);
    if (au.status === 'fulfilled') sections['net-authorities'].replaceChildren(genericTable(au.value, 'authorities'));
    updated.replaceChildren(h('span', { i18n: ['net.updated', { time: new Date().toLocaleTimeString(getLocale()) }] }));
  }
  function renderStatus(s) {
    showNode(s);
    sections['net-node'].replaceChildren(dl([
      ['lic.authority', s.authority], ['peer.label', h('code', { class: 'wrap', text: s.peer_id ?? '' })],
      ['net.sync', s.sync === undefined ? null : (s.sync && typeof s.sync === 'object' ? genericTable(s.sync, 'net-sync') : fmt(s.sync))],
    ]));
    const peers = Array.isArray(s.peers) ? s.peers : [];
    sections['net-peers'].replaceChildren(peers.length ? table({
      id: 'peers', rows: peers, rowAttrs: (p) => ({ 'data-connected': p.connected ? 'true' : 'false' }),
      cols: [['col.peer_id', (p) => h('code', { class: 'wrap', text: p.peer_id ?? '' })], ['col.authority', (p) => fmt(p.authority)],
        ['col.connected', (p) => mark(p.connected, 'net.connected', 'net.disconnected')]],
    }) : h('p', { i18n: 'none' }));
    const logs = Array.isArray(s.logs) ? s.logs : [];
    sections['net-logs'].replaceChildren(logs.length ? table({
      id: 'logs', rows: logs, rowAttrs: (l) => ({ 'data-authority': l.authority }),
      cols: [['col.authority', (l) => fmt(l.authority)], ['col.seq', (l) => fmt(l.seq)], ['col.head', (l) => short(l.head)],
        ['col.entries', (l) => h('button', { type: 'button', class: 'secondary log-entries', 'data-authority': l.authority,
          i18n: 'net.showEntries', on: { click: () => showEntries(String(l.authority ?? ''), Number(l.seq) || 0) } })]],
    }) : h('p', { i18n: 'none' }));
  }
  /** The newest entries of one log; a sealed entry shows as sealed, never its content. */
  let entriesSeq = 0;
  async function showEntries(authority, head) {
    const mine = ++entriesSeq;
    const box = sections['net-entries'];
    box.replaceChildren(h('p', { role: 'status', i18n: 'loading' }));
    const from = Math.max(1, head - ENTRIES_SHOWN + 1);
    try {
      const list = await api('GET', `/v1/log/${seg(authority)}?from=${from}&limit=${ENTRIES_SHOWN}`);
      if (!alive || mine !== entriesSeq) return;
      const rows = (Array.isArray(list) ? list : []).slice().reverse();
      const sealed = rows.filter((e) => e.kind === 'sealed').length;
      box.replaceChildren(
        h('p', { id: 'entries-summary', 'data-authority': authority },
          h('span', { i18n: ['net.entriesOf', { authority, n: { num: rows.length }, sealed: { num: sealed } }] })),
        rows.length ? table({
          id: 'log-entries', rows, rowAttrs: (e) => ({ 'data-seq': e.seq, 'data-kind': e.kind }),
          cols: [['col.seq', (e) => fmt(e.seq)], ['col.date', (e) => raisedAt(e.issued_at)],
            ['col.kind', (e) => entryKind(e.kind)], ['col.hash', (e) => short(e.hash)]],
        }) : h('p', { i18n: 'none' }));
    } catch (ex) {
      if (!alive || mine !== entriesSeq) return;
      box.replaceChildren();
      showError(err, ex);
    }
  }
  function renderEvidence(list) {
    const key = JSON.stringify(list);
    if (key === lastEvidence) return; // re-announcing an unchanged alert every 5 s would drown a screen reader
    lastEvidence = key;
    evidence.replaceChildren(list.length
      ? h('div', { class: 'alert error big', role: 'alert', id: 'equivocation' },
        h('ul', {}, list.map((p) => h('li', { 'data-authority': p.authority, 'data-seq': p.seq },
          '✘ ', h('span', { i18n: ['net.alert', { authority: p.authority, seq: p.seq }] }),
          Array.isArray(p.entries) ? h('span', { class: 'block' }, p.entries.map((x) => [short(x, 24), ' '])) : null))))
      : h('p', { id: 'no-equivocation', class: 'ok-text', role: 'status' }, '✔ ', h('span', { i18n: 'net.noEvidence' })));
  }
  refresh();
  const timer = setInterval(refresh, 5000);
  return () => { alive = false; clearInterval(timer); };
}
