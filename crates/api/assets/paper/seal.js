// seal.js: a Tally paper seal read and judged in the browser, as
// tally_verify::paper::seal does it (docs/PROTOCOL.md 14): the prefix
// TLY1:, Base45 (RFC 9285), zlib inflated by the browser's
// DecompressionStream with a 16 KiB limit, a COSE_Sign1 (tag 18, alg -19
// Ed25519, kid) whose payload is CWT claims (iss, iat, exp, cti, the summary
// under -65537), and the Ed25519 signature over the Sig_structure with
// external_aad "tally/seal/v1", checked with WebCrypto (RFC 8032).
//
// The rules are the CLI's, in its order: what does not read is "not a
// seal"; a key the bundle does not know for iss and kid, or one with a
// compromise mark (whatever time the seal claims), is "untrusted"; a
// signature that fails, or a cti or iss that does not name the summary's
// document (of an annex page's seal, its line and part), is "altered";
// anything else is "genuine".

import { CborError, decode, decodeFirst, get, int, sigStructure } from './cbor.js';

export const PREFIX = 'TLY1:';
export const MAX_INFLATED = 16 * 1024;
/** The longest text read: far above what any QR code holds. */
const MAX_TEXT = 64 * 1024;
const EXTERNAL_AAD = new TextEncoder().encode('tally/seal/v1');
const ALG_ED25519 = -19n;
const ISS = 1n;
const EXP = 4n;
const IAT = 6n;
const CTI = 7n;
const SUMMARY_CLAIM = -65537n;
const U32 = 0xffffffffn;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** Why a text is not a seal. */
export class NotASeal extends Error {}
function not(why) { throw new NotASeal(why); }

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

/** Base45 (RFC 9285) to bytes; anything else is not a seal. */
export function base45Decode(text) {
  const values = [];
  for (const c of text) {
    const v = B45.indexOf(c);
    if (v < 0) not('Base45: a character outside the alphabet');
    values.push(v);
  }
  if (values.length % 3 === 1) not('Base45: a dangling character');
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      if (n > 0xffff) not('Base45: a group past 65535');
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) not('Base45: a pair past 255');
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

/** A zlib stream inflated, at most `limit` bytes: a bomb is not a seal. */
export async function inflate(bytes, limit = MAX_INFLATED) {
  let stream;
  try {
    stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  } catch { return not('zlib: this browser cannot inflate'); }
  const reader = stream.getReader();
  const parts = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        reader.cancel().catch(() => {});
        not(`inflates past ${limit} bytes`);
      }
      parts.push(value);
    }
  } catch (e) {
    if (e instanceof NotASeal) throw e;
    not('zlib: the stream does not inflate');
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A COSE header label: an integer in i64, or text. */
function label(k) {
  if (k.t === 'int' && k.v >= I64_MIN && k.v <= I64_MAX) return `i${k.v}`;
  if (k.t === 'text') return `t${k.v}`;
  return not('COSE_Sign1: a header label is neither an integer nor text');
}

const nonEmptyBytes = (v, what) => (v.t === 'bytes' && v.v.length > 0 ? v.v : not(`COSE_Sign1: ${what} is not non-empty bytes`));

/** A COSE header map, checked as coset checks it; its alg and kid. */
function header(v) {
  if (v.t !== 'map') not('COSE_Sign1: a header is not a map');
  const seen = new Set();
  const h = { alg: null, kid: new Uint8Array(0) };
  let iv = false;
  let partial = false;
  for (const [k, value] of v.v) {
    const l = label(k);
    if (seen.has(l)) not('COSE_Sign1: a header label twice');
    seen.add(l);
    if (l === 'i1') {
      if (value.t === 'int') h.alg = value.v;
      else if (value.t === 'text') h.alg = value.v;
      else not('COSE_Sign1: alg is neither an integer nor text');
    } else if (l === 'i2') {
      if (value.t !== 'array' || value.v.length === 0) not('COSE_Sign1: crit is not a non-empty list');
      for (const c of value.v) label(c);
    } else if (l === 'i3') {
      const ok = (value.t === 'int' && value.v >= 0n && value.v <= 0xffffn)
        || (value.t === 'text' && value.v.length > 0 && value.v.trim() === value.v && value.v.split('/').length === 2);
      if (!ok) not('COSE_Sign1: content type');
    } else if (l === 'i4') {
      h.kid = nonEmptyBytes(value, 'kid');
    } else if (l === 'i5') {
      nonEmptyBytes(value, 'iv'); iv = true;
    } else if (l === 'i6') {
      nonEmptyBytes(value, 'partial iv'); partial = true;
    } else if (l === 'i7') {
      not('COSE_Sign1: counter signatures are not read');
    }
    if (iv && partial) not('COSE_Sign1: iv and partial iv');
  }
  return h;
}

/** The COSE_Sign1 of a seal: protected bytes, its header, payload, signature. */
function sign1(cose) {
  let top;
  try { top = decode(cose); } catch (e) { return not(`COSE_Sign1: ${e.message}`); }
  if (top.t !== 'tag' || top.tag !== 18n) not('COSE_Sign1: not tag 18');
  const a = top.v;
  if (a.t !== 'array' || a.v.length !== 4) not('COSE_Sign1: not an array of 4');
  const [prot, unprot, payload, signature] = a.v;
  if (signature.t !== 'bytes') not('COSE_Sign1: the signature is not bytes');
  if (payload.t !== 'bytes' && !(payload.t === 'simple' && payload.v === null)) not('COSE_Sign1: the payload is neither bytes nor nil');
  header(unprot);
  if (prot.t !== 'bytes') not('COSE_Sign1: the protected header is not bytes');
  let protectedHeader = { alg: null, kid: new Uint8Array(0) };
  if (prot.v.length > 0) {
    let m;
    try { m = decode(prot.v); } catch (e) { return not(`COSE_Sign1: ${e.message}`); }
    protectedHeader = header(m);
  }
  return {
    protectedBytes: prot.v,
    header: protectedHeader,
    payload: payload.t === 'bytes' ? payload.v : new Uint8Array(0),
    signature: signature.v,
  };
}

/** A map's entries by small integer key: every key must be one (u64). */
function fields(v, what) {
  if (!v || v.t !== 'map') not(`${what} is not a map`);
  const entries = v.v.map(([k, value]) => {
    if (k.t !== 'int' || k.v < 0n || k.v > U64_MAX) not(`${what}: a key is not a small integer`);
    return [k.v, value];
  });
  const take = (key) => {
    const at = entries.findIndex(([k]) => k === key);
    if (at < 0) return undefined;
    return entries.splice(at, 1)[0][1];
  };
  const text = (key, name) => {
    const x = take(key);
    if (x === undefined) return null;
    return x.t === 'text' ? x.v : not(`${name} is not text`);
  };
  return {
    take,
    text,
    need: (key, name) => text(key, name) ?? not(`${name} is missing`),
    count: (key, name) => {
      const x = take(key);
      return x && x.t === 'int' && x.v >= 0n && x.v <= U64_MAX ? x.v : not(`${name} is not a count`);
    },
    list: (key, name) => {
      const x = take(key);
      if (x === undefined) return [];
      return x.t === 'array' ? x.v : not(`${name} is not a list`);
    },
  };
}

function party(v) {
  const f = fields(v, 'a party');
  return { name: f.need(1n, "a party's name"), id: f.text(2n, "a party's id") };
}

function line(v) {
  const f = fields(v, 'a line');
  const n = f.count(1n, 'line');
  if (n > U32) not('line is too large');
  const d = f.take(10n);
  let digest = null;
  if (d !== undefined) {
    if (d.t !== 'bytes') not('serial_digest is not bytes');
    if (d.v.length !== 32) not('serial_digest is not 32 bytes');
    digest = d.v;
  }
  return {
    line: Number(n),
    category: f.need(2n, 'category'),
    hs_code: f.text(3n, 'hs_code'),
    make: f.text(4n, 'make'),
    model: f.text(5n, 'model'),
    caliber: f.text(6n, 'caliber'),
    quantity: f.count(7n, 'quantity'),
    unit: f.need(8n, 'unit'),
    serial_count: f.count(9n, 'serial_count'),
    serial_digest: digest,
  };
}

function reference(v) {
  const f = fields(v, 'a reference');
  return { authority: f.need(1n, "a reference's authority"), number: f.need(2n, "a reference's number") };
}

function certificate(v) {
  const f = fields(v, 'the end-user certificate');
  return { number: f.need(1n, "the certificate's number"), date: f.need(2n, "the certificate's date"), issued_by: f.need(3n, "the certificate's issuer") };
}

const opt = (v, f) => (v === undefined ? null : f(v));

const ANNEX_KEY = 20n;

/** Whether a summary's map holds the annex claim (key 20). */
const isAnnex = (v) => v && v.t === 'map' && v.v.some(([k]) => k.t === 'int' && k.v === ANNEX_KEY);

const small = (f, key, name) => {
  const n = f.count(key, name);
  return n > U32 ? not(`${name} is too large`) : Number(n);
};

/**
 * An annex seal's summary, read as tally_verify's annex module reads it:
 * the document's identity (keys 1 to 4, no other field) and the annex
 * claim {1 line, 2 part, 3 parts, 4 first, 5 last, 6 count, 7 digest}.
 */
export function annexSummary(v) {
  const f = fields(v, 'the annex summary');
  for (let k = 5n; k < ANNEX_KEY; k += 1n) {
    if (f.take(k) !== undefined) not('an annex seal holds no document fields beside its identity');
  }
  const version = small(f, 4n, 'version');
  const summary = {
    kind: f.need(1n, 'kind'), authority: f.need(2n, 'authority'), number: f.need(3n, 'number'), version,
    issued_on: '', place_of_issue: null, valid_from: '', valid_until: '', route: [], entry_point: null, exit_point: null,
    exporter: null, importer: null, end_user: null, carriers: [], linked: null, end_user_certificate: null, shipments: null, lines: [],
  };
  const c = fields(f.take(ANNEX_KEY), 'the annex claim');
  const d = c.take(7n);
  if (!d || d.t !== 'bytes' || d.v.length !== 32) not('the annex digest is not 32 bytes');
  const annex = {
    line: small(c, 1n, 'the annex line'),
    part: small(c, 2n, 'the annex part'),
    parts: small(c, 3n, 'the annex parts'),
    first: c.need(4n, "the annex's first serial"),
    last: c.need(5n, "the annex's last serial"),
    count: c.count(6n, 'the annex count'),
    digest: d.v,
  };
  if (annex.part === 0 || annex.part > annex.parts) not('the annex part is not one of its parts');
  // Byte order of UTF-8 is code point order, which JavaScript's < on strings is not past U+FFFF.
  if (annex.count === 0n || compareUtf8(annex.first, annex.last) > 0) not('the annex lists no serials in order');
  return { summary, annex };
}

/** Compares two strings as their UTF-8 bytes compare (Rust's order of String). */
function compareUtf8(a, b) {
  const x = enc(a);
  const y = enc(b);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** The summary's CBOR map, read as tally_verify's summary_cbor reads it. */
export function summary(v) {
  const f = fields(v, 'the summary');
  const version = f.count(4n, 'version');
  if (version > U32) not('version is too large');
  const route = f.list(9n, 'route').map((c) => (c.t === 'text' ? c.v : not('a route country is not text')));
  return {
    kind: f.need(1n, 'kind'),
    authority: f.need(2n, 'authority'),
    number: f.need(3n, 'number'),
    version: Number(version),
    issued_on: f.need(5n, 'issued_on'),
    place_of_issue: f.text(6n, 'place_of_issue'),
    valid_from: f.need(7n, 'valid_from'),
    valid_until: f.need(8n, 'valid_until'),
    route,
    entry_point: f.text(10n, 'entry_point'),
    exit_point: f.text(11n, 'exit_point'),
    exporter: opt(f.take(12n), party),
    importer: opt(f.take(13n), party),
    end_user: opt(f.take(14n), party),
    carriers: f.list(15n, 'carriers').map(party),
    linked: opt(f.take(16n), reference),
    end_user_certificate: opt(f.take(17n), certificate),
    shipments: f.text(18n, 'shipments'),
    lines: f.list(19n, 'lines').map(line),
  };
}

function seconds(v, what) {
  const n = int(v);
  if (n === null || n < I64_MIN || n > I64_MAX) not(`${what} is not a time`);
  return Number(n);
}

/**
 * Reads a seal's text: prefix, Base45, zlib, COSE_Sign1 and claims.
 * Throws NotASeal with the reason when it is not one.
 */
export async function read(text) {
  const trimmed = String(text).trim();
  // No QR code holds this much (version 40 holds 4,296 characters): a pasted
  // text may be anything, and is not read past this.
  if (trimmed.length > MAX_TEXT) not('too long for a seal');
  if (!trimmed.startsWith(PREFIX)) not(`it does not start with ${PREFIX}`);
  const compressed = base45Decode(trimmed.slice(PREFIX.length));
  const cose = await inflate(compressed);
  const s = sign1(cose);
  if (s.header.alg !== ALG_ED25519) not('the algorithm is not Ed25519 (-19)');
  let claims;
  try { claims = decodeFirst(s.payload).value; } catch (e) {
    if (e instanceof CborError) not('the claims are not a CBOR map');
    throw e;
  }
  if (claims.t !== 'map') not('the claims are not a CBOR map');
  const iss = get(claims, ISS);
  if (!iss || iss.t !== 'text') not('iss is not text');
  const cti = get(claims, CTI);
  if (!cti || cti.t !== 'bytes') not('cti is not bytes');
  const times = { printed_at: seconds(get(claims, IAT), 'iat'), expires_at: seconds(get(claims, EXP), 'exp') };
  const body = get(claims, SUMMARY_CLAIM);
  if (body === undefined) not('no summary claim');
  const read = isAnnex(body) ? annexSummary(body) : { summary: summary(body), annex: null };
  return { keyId: s.header.kid, issuer: iss.v, times, cti: cti.v, summary: read.summary, annex: read.annex, sign1: s };
}

async function sha256(parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(len);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

const enc = (s) => new TextEncoder().encode(s);

/** A seal's key id: 8 bytes of SHA-256 over a label and the paper key. */
export async function keyId(publicKey) {
  return (await sha256([enc('tally/seal/kid/v1\0'), publicKey])).slice(0, 8);
}

/** A document's cti: 16 bytes of SHA-256 over a label, authority, number and version. */
export async function ctiOf(authority, number, version) {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, version);
  return (await sha256([enc('tally/seal/cti/v1\0'), enc(authority), new Uint8Array([0]), enc(number), new Uint8Array([0]), v])).slice(0, 16);
}

/** An annex page's cti: its own label, the document, the line and the part. */
export async function annexCtiOf(authority, number, version, line, part) {
  const v = new Uint8Array(12);
  const view = new DataView(v.buffer);
  view.setUint32(0, version);
  view.setUint32(4, line);
  view.setUint32(8, part);
  return (await sha256([enc('tally/seal/annex-cti/v1\0'), enc(authority), new Uint8Array([0]), enc(number), new Uint8Array([0]), v])).slice(0, 16);
}

export const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether an Ed25519 signature holds, by WebCrypto; false when it cannot say. */
export async function ed25519Verify(publicKey, signature, data) {
  if (signature.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, data);
  } catch { return false; }
}

/** Whether an Ed25519 public key imports at all (a key that does not is untrusted). */
async function importable(publicKey) {
  try {
    await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    return true;
  } catch { return false; }
}

/**
 * genuine, altered or untrusted, for `keys` ({authority, publicKey,
 * compromised}), with the key that decided.
 */
export async function genuine(r, keys) {
  let key = null;
  for (const k of keys) {
    if (k.authority === r.issuer && sameBytes(await keyId(k.publicKey), r.keyId)) { key = k; break; }
  }
  if (!key) return { verdict: 'untrusted', why: 'unknown_key' };
  if (key.compromised) return { verdict: 'untrusted', why: 'compromised', key };
  if (!(await importable(key.publicKey))) return { verdict: 'untrusted', why: 'unknown_key', key };
  const tbs = sigStructure(r.sign1.protectedBytes, EXTERNAL_AAD, r.sign1.payload);
  const verified = await ed25519Verify(key.publicKey, r.sign1.signature, tbs);
  const s = r.summary;
  const expected = r.annex
    ? await annexCtiOf(s.authority, s.number, s.version, r.annex.line, r.annex.part)
    : await ctiOf(s.authority, s.number, s.version);
  const named = sameBytes(r.cti, expected) && r.issuer === s.authority;
  return verified && named ? { verdict: 'genuine', key } : { verdict: 'altered', key };
}
