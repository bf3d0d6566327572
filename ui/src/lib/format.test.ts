import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatNumber, formatPercent } from "./format";

describe("formatBytes", () => {
  it("picks a binary unit and keeps one decimal below 100", () => {
    expect(formatBytes(0, "en")).toBe("0 B");
    expect(formatBytes(1536, "en")).toBe("1.5 KiB");
    expect(formatBytes(24 * 1024 ** 3, "en")).toBe("24.0 GiB");
    expect(formatBytes(512 * 1024 ** 2, "en")).toBe("512 MiB");
  });

  it("uses the locale's decimal separator", () => {
    expect(formatBytes(1536, "fr")).toBe("1,5 KiB");
  });

  it("shows a dash for values that cannot be sizes", () => {
    expect(formatBytes(-1)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });
});

describe("formatPercent", () => {
  it("rounds to one decimal and clamps to 0–100", () => {
    expect(formatPercent(12.345, "en")).toBe("12.3 %");
    expect(formatPercent(140, "en")).toBe("100.0 %");
    expect(formatPercent(-3, "en")).toBe("0.0 %");
  });
});

describe("formatDuration", () => {
  it("says time left in words of the language", () => {
    expect(formatDuration(42, "en")).toBe("42 seconds");
    expect(formatDuration(150, "en")).toBe("3 minutes");
    expect(formatDuration(7200, "fr")).toMatch(/^2\s+heures$/); // a no-break space in French
    expect(formatDuration(Number.POSITIVE_INFINITY, "en")).toBe("—");
  });
});

describe("formatNumber", () => {
  it("keeps the decimals asked for, in the language's notation", () => {
    expect(formatNumber(0.0123, 2, "en")).toBe("0.01");
    expect(formatNumber(0.0123, 2, "fr")).toBe("0,01");
    expect(formatNumber(42.46, 0, "en")).toBe("42");
  });
});
