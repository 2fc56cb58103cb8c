// download.js: saving a file the console fetched with its token (a plain
// link could not send it): the Blob is handed to the browser under the
// node's file name, its URL kept until the page goes.

import { h } from './dom.js';

/** A name the browser may save under: the node's when it is a plain file name, else `fallback`. */
export const fileName = (given, fallback) => (given && /^[\w.-]+$/.test(given) ? given : fallback);

/** Saves `blob` as `name`, as a click on a download link would; `urls` keeps its URL. */
export function saveBlob(blob, name, urls) {
  const url = URL.createObjectURL(blob);
  // Kept until the page goes: revoked at once, the browser may not have read it yet.
  urls.push(url);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}
