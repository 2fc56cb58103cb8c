// i18n.js: the console's strings in English, Spanish, French and Portuguese
// (one JSON file per language, crates/api/assets/i18n/, served as
// /assets/i18n-LANG.json), the locale (language and region: the browser's
// on the first visit, then the one chosen, remembered in localStorage), dates,
// numbers and country names written for that locale with Intl, and in-place
// re-translation. Translated elements carry data-i18n (and data-i18n-args /
// data-i18n-attr), formatted ones data-l10n, so switching locale never
// rebuilds a page or loses what was typed.

/** The locales the picker offers: a language with strings, and a region that says how numbers and dates are written. */
export const LOCALES = ['en', 'es-MX', 'es-AR', 'fr', 'pt-BR'];
/** The languages that have a strings file. */
export const LANGUAGES = ['en', 'es', 'fr', 'pt'];
const STORE_KEY = 'tally.lang';
const STRINGS = {};

const language = (tag) => String(tag).split('-')[0].toLowerCase();

/** A valid BCP 47 tag in canonical form, or null. */
function canonical(tag) {
  try { return Intl.getCanonicalLocales(String(tag))[0] ?? null; } catch { return null; }
}

/**
 * The locale for a list of wanted tags (the remembered choice, then the
 * browser's languages): an offered locale when one matches exactly; else the
 * tag itself when its language has strings (es-CO writes numbers as
 * Colombia does); else the first offered locale of a language that matches.
 */
export function pickLocale(wanted) {
  for (const raw of wanted) {
    const tag = canonical(raw);
    if (!tag || !LANGUAGES.includes(language(tag))) continue;
    const offered = LOCALES.find((l) => l.toLowerCase() === tag.toLowerCase());
    if (offered) return offered;
    if (tag.includes('-')) return tag;
    return LOCALES.find((l) => language(l) === language(tag));
  }
  return 'en';
}

function remembered() {
  try { return localStorage.getItem(STORE_KEY); } catch { return null; } // storage disabled
}

let locale = pickLocale([remembered(), ...(navigator.languages || [navigator.language])].filter(Boolean));

async function loadStrings(lang) {
  if (STRINGS[lang] || !LANGUAGES.includes(lang)) return;
  try {
    const res = await fetch(`/assets/i18n-${lang}.json`, { headers: { Accept: 'application/json' } });
    if (res.ok) STRINGS[lang] = await res.json();
  } catch { /* unreachable node: English, or the keys themselves */ }
}
await Promise.all([loadStrings('en'), loadStrings(language(locale))]);

export const getLocale = () => locale;
export const getLang = () => language(locale);

/** A locale's name in its own language, e.g. "Español (México)". */
export function localeName(tag) {
  try {
    const name = new Intl.DisplayNames([tag], { type: 'language', languageDisplay: 'standard' }).of(tag) || tag;
    return name.charAt(0).toLocaleUpperCase(tag) + name.slice(1);
  } catch { return tag; }
}

const formats = new Map();
function cached(key, make) {
  const k = `${locale}|${key}`;
  if (!formats.has(k)) formats.set(k, make());
  return formats.get(k);
}

/** A number (or a decimal string, kept exact) as the locale writes it; anything else as given. */
export function formatNumber(v) {
  const exact = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v);
  if (!exact && typeof v !== 'number') return String(v ?? '');
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return cached('num', () => new Intl.NumberFormat(locale, { maximumFractionDigits: 20 })).format(v);
}

/** An amount in an ISO 4217 currency, e.g. "US$84,500.00"; an unknown currency after the number. */
export function formatMoney(amount, currency) {
  const exact = typeof amount === 'string' ? /^-?\d+(\.\d+)?$/.test(amount) : Number.isFinite(amount);
  const cur = String(currency ?? '');
  if (exact && /^[A-Z]{3}$/.test(cur)) {
    try { return cached(`money-${cur}`, () => new Intl.NumberFormat(locale, { style: 'currency', currency: cur })).format(amount); } catch { /* below */ }
  }
  return `${formatNumber(amount)} ${cur}`.trim();
}

/** A date (YYYY-MM-DD) or an RFC 3339 time (shown in UTC) as the locale writes it; anything else as given. */
export function formatDate(s) {
  if (typeof s !== 'string') return String(s ?? '');
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const d = new Date(`${s}T00:00:00Z`);
    return Number.isNaN(d.getTime()) ? s
      : cached('date', () => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' })).format(d);
  }
  const d = /^\d{4}-\d{2}-\d{2}T/.test(s) ? new Date(s) : new Date(NaN);
  if (Number.isNaN(d.getTime())) return s;
  return `${cached('time', () => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })).format(d)} UTC`;
}

/** An ISO 3166 code as the country's name in the locale's language with the code beside it, e.g. "México (MX)". */
export function formatCountry(code) {
  const c = String(code ?? '');
  if (!/^[A-Z]{2}$/.test(c)) return c;
  try {
    const name = cached('region', () => new Intl.DisplayNames([locale], { type: 'region', fallback: 'none' })).of(c);
    return name && name !== c ? `${name} (${c})` : c;
  } catch { return c; }
}

/**
 * A value for the locale: {date}, {num}, {money: [amount, currency]} or
 * {country}; an array as its values joined; anything else as text.
 */
export function localize(v) {
  if (Array.isArray(v)) return v.map(localize).join(', ');
  if (v && typeof v === 'object') {
    if ('date' in v) return formatDate(v.date);
    if ('num' in v) return formatNumber(v.num);
    if ('money' in v && Array.isArray(v.money)) return formatMoney(v.money[0], v.money[1]);
    if ('country' in v) return formatCountry(v.country);
  }
  return String(v ?? '');
}

/** Translate `key`, replacing {name} placeholders from `args` (each localized); falls back to English, then to the key. */
export function t(key, args) {
  const s = STRINGS[getLang()]?.[key] ?? STRINGS.en?.[key] ?? key;
  return args ? s.replace(/\{(\w+)\}/g, (m, k) => (k in args ? localize(args[k]) : m)) : s;
}

/** Give `el` a translated text that follows language changes. */
export function tr(el, key, args) {
  el.dataset.i18n = key;
  if (args) el.dataset.i18nArgs = JSON.stringify(args); else delete el.dataset.i18nArgs;
  el.textContent = t(key, args);
  return el;
}

/** Give `el` translated attributes, e.g. {'aria-label': 'nav.label'}. */
export function trAttr(el, map) {
  el.dataset.i18nAttr = JSON.stringify(map);
  for (const [attr, key] of Object.entries(map)) el.setAttribute(attr, t(key));
  return el;
}

/** Give `el` a value written for the locale (see localize) that follows locale changes. */
export function trValue(el, v) {
  el.dataset.l10n = JSON.stringify(v);
  el.textContent = localize(v);
  return el;
}

/** Re-translate every marked element under `root`. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n, el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : undefined);
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const [attr, key] of Object.entries(JSON.parse(el.dataset.i18nAttr))) el.setAttribute(attr, t(key));
  }
  for (const el of root.querySelectorAll('[data-l10n]')) el.textContent = localize(JSON.parse(el.dataset.l10n));
}

/** Switch locale: load its strings, remember it, set <html lang>, re-translate in place. */
export async function setLocale(next) {
  const tag = pickLocale([next]);
  await loadStrings(language(tag));
  locale = tag;
  try { localStorage.setItem(STORE_KEY, tag); } catch { /* storage disabled */ }
  document.documentElement.lang = tag;
  applyI18n();
  document.title = t('app.title');
}
