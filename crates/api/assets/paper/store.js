// store.js: what the verifier keeps on the device, and nothing else.
// - IndexedDB "tally-paper", store "kept": the trust bundle (checked again
//   under the pinned key at every start) and the pin it was checked with.
// - localStorage: the officer's post (tally.paper.post) and the log of
//   checks made (tally.paper.log, the newest LOG_MAX, clearable).
// The officer token that fetches the bundle is never stored: it lives in
// one function call and is dropped.

const DB = 'tally-paper';
const STORE = 'kept';
const POST_KEY = 'tally.paper.post';
const LOG_KEY = 'tally.paper.log';
/** The most checks the log keeps: older ones drop off. */
export const LOG_MAX = 200;

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, f) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = f(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally { db.close(); }
}

/** A kept value, or null (storage unavailable included). */
export async function load(key) {
  try { return (await run('readonly', (s) => s.get(key))) ?? null; } catch { return null; }
}

/** Keeps `value` under `key`; false when the device refuses. */
export async function save(key, value) {
  try { await run('readwrite', (s) => s.put(value, key)); return true; } catch { return false; }
}

export async function remove(key) {
  try { await run('readwrite', (s) => s.delete(key)); } catch { /* nothing kept */ }
}

function readJson(key, fallback) {
  try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
}

function writeJson(key, v) {
  try { localStorage.setItem(key, JSON.stringify(v)); } catch { /* storage full or disabled */ }
}

/** The officer's post: {country, point}, or null. */
export function post() {
  const p = readJson(POST_KEY, null);
  if (!p || typeof p.country !== 'string' || !/^[A-Z]{2}$/.test(p.country)) return null;
  return { country: p.country, point: typeof p.point === 'string' ? p.point.slice(0, 16) : '' };
}

export function setPost(p) { writeJson(POST_KEY, p); }

/** The checks made, newest first. */
export function log() {
  const l = readJson(LOG_KEY, []);
  return Array.isArray(l) ? l.slice(0, LOG_MAX) : [];
}

/** Adds one check to the log, keeping the newest LOG_MAX. */
export function logCheck(entry) {
  writeJson(LOG_KEY, [entry, ...log()].slice(0, LOG_MAX));
}

export function clearLog() {
  try { localStorage.removeItem(LOG_KEY); } catch { /* nothing kept */ }
}
