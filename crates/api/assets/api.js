// api.js: the HTTP client for docs/API.md's API: the bearer token (kept in
// sessionStorage), JSON in and out, and errors as ApiError. A 401 clears the
// token and calls the handler the app registered (back to sign-in). apiText
// reads a download (CSV) with the same token and errors, apiBlob a binary one
// (XLSX) with the file name the node gives it. apiBytes posts a file's bytes
// as they are (the upload). A refused request's ApiError carries the
// node's Retry-After (a 429) in seconds.

const TOKEN_KEY = 'tally.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (v) => sessionStorage.setItem(TOKEN_KEY, v),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  /** status 0 means the node could not be reached. */
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    /** A 422's faults: [{pointer, message}], each at a JSON pointer into the body. */
    this.details = details;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** Path segment escaping for authority ids and license numbers. */
export const seg = (s) => encodeURIComponent(String(s));

export const api = (method, path, body) => request(method, path, body, 'application/json');

/** GET `path` as text (a CSV download); errors as api() reports them. */
export const apiText = (path) => request('GET', path, undefined, 'text/csv');

/**
 * GET `path` as a Blob (an XLSX download) and the file name of the node's
 * Content-Disposition (null when it gives none); errors as api() reports them.
 */
export async function apiBlob(path) {
  const res = await send('GET', path, undefined, '*/*');
  if (!res.ok) throw failure(res, await res.text());
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
  return { blob: await res.blob(), filename: name ? name[1] : null };
}

/** POST a file's `bytes` as they are (the console's upload) and read the JSON answer; errors as api() reports them. */
export async function apiBytes(path, bytes, type = 'application/octet-stream') {
  const headers = { Accept: 'application/json', 'Content-Type': type };
  const tok = token.get();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  let res;
  try {
    res = await fetch(path, { method: 'POST', headers, body: bytes });
  } catch (e) {
    throw new ApiError(0, 'network', String(e.message || e));
  }
  const text = await res.text();
  if (!res.ok) throw failure(res, text);
  try { return text ? JSON.parse(text) : null; } catch { return null; }
}

async function send(method, path, body, accept) {
  const headers = { Accept: accept };
  const tok = token.get();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    return await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'network', String(e.message || e));
  }
}

async function request(method, path, body, accept) {
  const res = await send(method, path, body, accept);
  const text = await res.text();
  if (res.ok && accept !== 'application/json') return text;
  if (res.ok) {
    try { return text ? JSON.parse(text) : null; } catch { return null; }
  }
  throw failure(res, text);
}

/** The ApiError of a refused request (its JSON error, else its text); a 401 also signs out. */
function failure(res, text) {
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  const err = data && data.error ? data.error : {};
  const details = Array.isArray(err.details) ? err.details.slice(0, 100) : [];
  const e = new ApiError(res.status, err.code || `http_${res.status}`, err.message || text.slice(0, 300) || res.statusText, details);
  const wait = Number.parseInt(res.headers.get('Retry-After') || '', 10);
  if (Number.isFinite(wait)) e.retryAfter = wait;
  if (res.status === 401) { token.clear(); onUnauthorized(e); }
  return e;
}
