// Numbers shown to people: rounded, with units, in the user's locale.
import { locale as currentLocale } from "./i18n";

const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

export function formatBytes(bytes: number, locale: string = currentLocale()): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${units[unit]}`;
}

export function formatPercent(percent: number, locale: string = currentLocale()): string {
  if (!Number.isFinite(percent)) return "—";
  const clamped = Math.min(100, Math.max(0, percent));
  return `${clamped.toLocaleString(locale, { maximumFractionDigits: 1, minimumFractionDigits: 1 })} %`;
}

/** A date and time as people read them in the language shown. */
export function formatDateTime(date: Date, locale: string = currentLocale()): string {
  return date.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}
