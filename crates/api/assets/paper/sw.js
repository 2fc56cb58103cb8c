// sw.js: the paper verifier's service worker (scope /paper/). At install it
// keeps the app's files, the console's strings it uses and the pinned key
// in a cache named after this binary's version (the server writes it in
// for the mark below), so the app opens and checks seals with the network
// off. The app's files are served from the cache first; the pin from the
// network first (a rotated key shows at once when online). The API
// (/v1/...) is never touched: the bundle is the page's to fetch and keep.

const CACHE = 'tally-paper-@@VERSION@@';
const APP = [
  '/paper/',
  '/paper/app.js', '/paper/answer.js', '/paper/bundle.js', '/paper/cbor.js', '/paper/seal.js',
  '/paper/scan.js', '/paper/store.js', '/paper/consignment.js', '/paper/verifier.css',
  '/paper/manifest.webmanifest', '/paper/icon.svg', '/paper/jsqr.js', '/paper/jsqr-LICENSE.txt',
  '/assets/i18n.js', '/assets/i18n-en.json', '/assets/i18n-es.json', '/assets/i18n-fr.json', '/assets/i18n-pt.json',
];
const PIN = '/paper/pin.json';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(APP);
    // A node that prints no seals has no pin: the app says so.
    await cache.add(PIN).catch(() => {});
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('tally-paper-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  let res = null;
  try { res = await fetch(request); } catch { /* offline */ }
  if (res?.ok) {
    await cache.put(request, res.clone());
    return res;
  }
  // Offline, or the node cannot say now (503): the pin kept, if any.
  return (await cache.match(request)) ?? res ?? Response.error();
}

async function cacheFirst(request, key) {
  const cache = await caches.open(CACHE);
  return (await cache.match(key)) ?? fetch(request);
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === PIN) {
    event.respondWith(networkFirst(request));
  } else if (request.mode === 'navigate' && url.pathname.startsWith('/paper/')) {
    event.respondWith(cacheFirst(request, '/paper/'));
  } else if (APP.includes(url.pathname)) {
    event.respondWith(cacheFirst(request, url.pathname));
  }
});
