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

/** A number with exactly `digits` decimals, in the language's notation (1.5 / 1,5). */
export function formatNumber(
  value: number,
  digits: number,
  locale: string = currentLocale(),
): string {
  return value.toLocaleString(locale, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A rough duration for "time left": seconds under a minute, then minutes, then hours. */
export function formatDuration(seconds: number, locale: string = currentLocale()): string {
  const unit = (value: number, name: "second" | "minute" | "hour") =>
    new Intl.NumberFormat(locale, { style: "unit", unit: name, unitDisplay: "long" }).format(
      Math.max(1, Math.round(value)),
    );
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 60) return unit(seconds, "second");
  if (seconds < 3600) return unit(seconds / 60, "minute");
  return unit(seconds / 3600, "hour");
}

/** A date and time as people read them in the language shown. */
export function formatDateTime(date: Date, locale: string = currentLocale()): string {
  return date.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}
