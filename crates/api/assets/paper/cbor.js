// cbor.js: the small CBOR decoder (RFC 8949) the paper verifier reads
// seals with, and the one encoder it needs (COSE's Sig_structure). It reads
// what seals are made of: integers (64-bit, as BigInt), byte and text
// strings, arrays, maps, tags, false/true/null/undefined and floats, each
// of definite length, nested at most MAX_DEPTH deep; it refuses what it
// does not know (indefinite lengths, other simple values, a length past the
// end of the input, text that is not UTF-8), so a crafted seal is "not a
// seal", never a hang or a crash.
//
// A value is {t, v}: t one of 'int' (v a BigInt), 'bytes' (Uint8Array),
// 'text' (string), 'array' (values), 'map' ([key, value] pairs in order,
// duplicates kept), 'tag' (tag: BigInt, v: the value), 'simple' (false,
// true, null or undefined), 'float' (a number).

/** How deep arrays, maps and tags may nest. */
export const MAX_DEPTH = 32;

export class CborError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(why) { throw new CborError(why); }

/** The head's argument: a BigInt; an indefinite length is refused. */
function argument(r, info) {
  if (info < 24) return BigInt(info);
  const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
  if (!size) fail(info === 31 ? 'indefinite lengths are not read' : `reserved additional information ${info}`);
  if (r.at + size > r.bytes.length) fail('truncated head');
  let n = 0n;
  for (let i = 0; i < size; i += 1) n = (n << 8n) | BigInt(r.bytes[r.at + i]);
  r.at += size;
  return n;
}

/** A length that fits what is left of the input (each item is at least one byte). */
function length(r, n, perItem) {
  if (n > BigInt(r.bytes.length - r.at) / BigInt(perItem)) fail('a length runs past the end of the input');
  return Number(n);
}

function float(r, info) {
  const size = { 25: 2, 26: 4, 27: 8 }[info];
  if (r.at + size > r.bytes.length) fail('truncated float');
  const view = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.at, size);
  r.at += size;
  if (size === 8) return view.getFloat64(0);
  if (size === 4) return view.getFloat32(0);
  const h = view.getUint16(0);
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function simple(r, info) {
  if (info === 20) return { t: 'simple', v: false };
  if (info === 21) return { t: 'simple', v: true };
  if (info === 22) return { t: 'simple', v: null };
  if (info === 23) return { t: 'simple', v: undefined };
  if (info >= 25 && info <= 27) return { t: 'float', v: float(r, info) };
  return fail(`simple value ${info} is not read`);
}

function item(r, depth) {
  if (depth > MAX_DEPTH) fail('nested too deep');
  if (r.at >= r.bytes.length) fail('truncated input');
  const head = r.bytes[r.at];
  r.at += 1;
  const major = head >> 5;
  const info = head & 0x1f;
  if (major === 7) return simple(r, info);
  const n = argument(r, info);
  switch (major) {
    case 0: return { t: 'int', v: n };
    case 1: return { t: 'int', v: -1n - n };
    case 2:
    case 3: {
      const len = length(r, n, 1);
      const bytes = r.bytes.slice(r.at, r.at + len);
      r.at += len;
      if (major === 2) return { t: 'bytes', v: bytes };
      try { return { t: 'text', v: utf8.decode(bytes) }; } catch { return fail('text is not UTF-8'); }
    }
    case 4: {
      const len = length(r, n, 1);
      const v = [];
      for (let i = 0; i < len; i += 1) v.push(item(r, depth + 1));
      return { t: 'array', v };
    }
    case 5: {
      const len = length(r, n, 2);
      const v = [];
      for (let i = 0; i < len; i += 1) v.push([item(r, depth + 1), item(r, depth + 1)]);
      return { t: 'map', v };
    }
    default: return { t: 'tag', tag: n, v: item(r, depth + 1) };
  }
}

/** The first item of `bytes` and where it ends. */
export function decodeFirst(bytes) {
  const r = { bytes, at: 0 };
  const value = item(r, 0);
  return { value, end: r.at };
}

/** The one item `bytes` holds: anything after it is refused. */
export function decode(bytes) {
  const { value, end } = decodeFirst(bytes);
  if (end !== bytes.length) fail('extraneous data after the item');
  return value;
}

/** The value's integer as a BigInt, or null. */
export const int = (v) => (v && v.t === 'int' ? v.v : null);

/** The first value of a map under integer key `k` (a BigInt), or undefined. */
export function get(map, k) {
  const hit = map.v.find(([key]) => key.t === 'int' && key.v === k);
  return hit ? hit[1] : undefined;
}

function head(major, n) {
  if (n < 24) return [(major << 5) | n];
  if (n < 0x100) return [(major << 5) | 24, n];
  if (n < 0x10000) return [(major << 5) | 25, n >> 8, n & 0xff];
  return [(major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function bstr(bytes) { return [...head(2, bytes.length), ...bytes]; }

/**
 * COSE's Sig_structure for a COSE_Sign1 (RFC 9052 4.4): the array
 * ["Signature1", protected, external_aad, payload], encoded as CBOR with
 * the shortest heads, as the signer encoded it.
 */
export function sigStructure(protectedBytes, externalAad, payload) {
  const context = new TextEncoder().encode('Signature1');
  return new Uint8Array([
    ...head(4, 4),
    ...head(3, context.length), ...context,
    ...bstr(protectedBytes),
    ...bstr(externalAad),
    ...bstr(payload),
  ]);
}
