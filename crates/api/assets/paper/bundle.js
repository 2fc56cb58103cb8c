// bundle.js: the trust bundle the verifier holds (docs/PROTOCOL.md 14), as
// tally_verify::paper::bundle reads it: its signature is the producing
// node's paper key's Ed25519 signature over "tally/bundle/v1\0" followed by
// the bundle without `signature` as canonical JSON (RFC 8785 for what it
// holds: object keys sorted by UTF-16 code units, no spaces, strings and
// integers written as JSON.stringify writes them). The app checks it under
// the key it pinned (/paper/pin.json) and refuses it whole when it fails.

import { ed25519Verify } from './seal.js';

const DOMAIN = 'tally/bundle/v1\0';
/** A bundle older than this gets a warning. */
export const STALE_MS = 24 * 3600 * 1000;
/** A bundle older than this says nothing of a document's status. */
export const TOO_OLD_MS = 7 * 24 * 3600 * 1000;

/** RFC 8785 canonical JSON of strings, integers, booleans, null, arrays and objects. */
export function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error('the bundle holds a number that is not a safe integer');
  return JSON.stringify(v);
}

/** Hex to bytes, or null. */
export function fromHex(s) {
  if (typeof s !== 'string' || s.length % 2 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The bytes the bundle's signature covers. */
export function signedBytes(bundle) {
  const rest = { ...bundle };
  delete rest.signature;
  return new TextEncoder().encode(DOMAIN + canonical(rest));
}

/** The shape a bundle must have before anything is read from it. */
function wellFormed(b) {
  const str = (x) => typeof x === 'string';
  return b && typeof b === 'object' && str(b.produced_by) && Number.isSafeInteger(b.produced_at)
    && str(b.signature) && Array.isArray(b.authorities) && Array.isArray(b.statuses)
    && b.authorities.every((a) => a && str(a.authority) && str(a.name) && Array.isArray(a.keys)
      && (a.contact === undefined || str(a.contact))
      && a.keys.every((k) => k && str(k.key_id) && str(k.purpose) && typeof k.compromised === 'boolean'))
    && b.statuses.every((s) => s && str(s.authority) && str(s.number) && Number.isSafeInteger(s.version) && str(s.status));
}

/** Whether `bundle` is well formed and signed by `pinnedHex`, the node's paper key. */
export async function verify(bundle, pinnedHex) {
  const key = fromHex(pinnedHex);
  const sig = fromHex(bundle?.signature);
  if (!key || key.length !== 32 || !sig || !wellFormed(bundle)) return false;
  let bytes;
  try { bytes = signedBytes(bundle); } catch { return false; }
  return ed25519Verify(key, sig, bytes);
}

/** The paper keys a verifier trusts from the bundle: {authority, publicKey, compromised}. */
export function paperKeys(bundle) {
  const keys = [];
  for (const a of bundle?.authorities ?? []) {
    for (const k of a.keys.filter((x) => x.purpose === 'paper')) {
      const publicKey = fromHex(k.key_id);
      if (publicKey && publicKey.length === 32) keys.push({ authority: a.authority, publicKey, compromised: k.compromised });
    }
  }
  return keys;
}

/** The bundle's name for an authority, or null. */
export function authorityName(bundle, id) {
  return bundle?.authorities.find((a) => a.authority === id)?.name ?? null;
}

/** The authority's point of contact from its card, or null when it gave none. */
export function authorityContact(bundle, id) {
  const c = bundle?.authorities.find((a) => a.authority === id)?.contact;
  return typeof c === 'string' && c.trim() ? c : null;
}

/**
 * The document's status as of the bundle, as Bundle::status_of gives it:
 * revoked or suspended as listed, superseded by a later version, expired
 * past exp at `nowS`, unknown when not listed, active otherwise; with the
 * version the bundle lists.
 */
export function statusOf(bundle, r, nowS) {
  const s = r.summary;
  const row = bundle?.statuses.find((x) => x.authority === s.authority && x.number === s.number);
  if (!row) return { status: 'unknown', version: null };
  const version = row.version;
  if (row.status === 'revoked') return { status: 'revoked', version };
  if (row.status === 'suspended') return { status: 'suspended', version };
  if (row.version > s.version) return { status: 'superseded', version };
  if (nowS > r.times.expires_at) return { status: 'expired', version };
  return { status: 'active', version };
}

/** How old the bundle is at `nowMs`: fresh, stale (over a day) or too_old (over a week). */
export function age(bundle, nowMs) {
  const ms = nowMs - bundle.produced_at;
  if (ms > TOO_OLD_MS) return { ms, level: 'too_old' };
  if (ms > STALE_MS) return { ms, level: 'stale' };
  return { ms, level: 'fresh' };
}
