/**
 * Built-in detectors that find personal data inside any string: e-mail addresses, payment card
 * numbers (13–19 digits, spaces or dashes allowed between them, Luhn-checked) and IBANs (country
 * code, check digits, up to 30 alphanumerics, spaces allowed, ISO 13616 mod-97 checked). Every
 * pattern has bounded repetitions, so scanning is linear in the string's length.
 */
export const DETECTORS = ['email', 'card', 'iban'] as const;
export type DetectorName = (typeof DETECTORS)[number];

/** Luhn checksum over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 13616 check: move the first four characters to the end, letters as 10–35, mod 97 = 1. */
export function ibanValid(text: string): boolean {
  const iban = text.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) rest = (rest * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return rest === 1;
}

const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}/g;
const CARD = /(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])/g;
const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])/g;

interface Detector {
  readonly pattern: RegExp;
  readonly accept: (match: string) => boolean;
}

const TABLE: Record<DetectorName, Detector> = {
  email: { pattern: EMAIL, accept: () => true },
  card: { pattern: CARD, accept: (m) => luhnValid(m.replace(/[ -]/g, '')) },
  iban: { pattern: IBAN, accept: ibanValid },
};

/** A scanner replacing every detected item in a string with `mask(item)`; null when none is on. */
export function compileDetectors(
  names: readonly DetectorName[],
): ((s: string, mask: (item: string) => string) => string) | null {
  if (names.length === 0) return null;
  const detectors = [...new Set(names)].map((n) => TABLE[n]);
  return (s, mask) => {
    let out = s;
    for (const d of detectors) {
      d.pattern.lastIndex = 0;
      out = out.replace(d.pattern, (m) => (d.accept(m) ? mask(m) : m));
    }
    return out;
  };
}
