// scan.js: a QR code's text from a photo, a file or the camera, by the
// vendored jsQR (/paper/jsqr.js, pure JavaScript: the browser's
// BarcodeDetector is missing on most platforms). An image is decoded with
// createImageBitmap (no blob: URL, so the console's CSP holds), drawn at
// most MAX_SIDE pixels on its long side, and tried again smaller (a
// phone's photo often reads better so).

/** The largest file read: a photo, not a film. */
export const MAX_FILE = 25 * 1024 * 1024;
const MAX_SIDE = 1600;
const SIDES = [MAX_SIDE, 1000, 640];

function decoder() {
  const f = globalThis.jsQR;
  if (typeof f !== 'function') throw new Error('the QR decoder did not load');
  return f;
}

/** The text of the first QR code in `source` drawn `side` px at most, or null. */
function decodeAt(source, width, height, side) {
  const scale = Math.min(1, side / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  ctx.drawImage(source, 0, 0, w, h);
  const img = ctx.getImageData(0, 0, w, h);
  const code = decoder()(img.data, w, h, { inversionAttempts: 'attemptBoth' });
  return code ? code.data : null;
}

/** The QR code's text in an image file, or null when none reads (the photo is unreadable). */
export async function fromFile(file) {
  if (!file || file.size > MAX_FILE) return null;
  let bitmap;
  try { bitmap = await createImageBitmap(file); } catch { return null; }
  try {
    for (const side of SIDES) {
      if (side > MAX_SIDE || (side !== MAX_SIDE && side >= Math.max(bitmap.width, bitmap.height))) continue;
      const text = decodeAt(bitmap, bitmap.width, bitmap.height, side);
      if (text !== null) return text;
    }
    return null;
  } finally { bitmap.close(); }
}

/** Whether this browser offers a camera at all (a secure context is needed). */
export const cameraAvailable = () => Boolean(globalThis.isSecureContext && navigator.mediaDevices?.getUserMedia);

/**
 * Scans the camera into `video` until a QR code reads; calls `found(text)`
 * once and stops. Returns stop(). Throws the getUserMedia error
 * (NotAllowedError: permission refused; NotFoundError: no camera).
 */
export async function startCamera(video, found) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  let stopped = false;
  let timer = 0;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const t of stream.getTracks()) t.stop();
    video.srcObject = null;
  };
  video.srcObject = stream;
  video.setAttribute('playsinline', '');
  await video.play().catch(() => {});
  const tick = () => {
    if (stopped) return;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      const text = decodeAt(video, video.videoWidth, video.videoHeight, 800);
      if (text !== null) { stop(); found(text); return; }
    }
    timer = setTimeout(tick, 250);
  };
  tick();
  return stop;
}
