import { describe, expect, test } from "vitest";
import {
  elapsed,
  excerpt,
  formatBytes,
  formatCount,
  formatDuration,
  formatTime,
  fromLocalInput,
  isActive,
  matchPreset,
  parseLocalInput,
  presetRange,
  stateLabel,
  stateStyle,
  toLocalInput,
  utcOffset,
  zoneLabel,
} from "./format";

describe("formatDuration", () => {
  test.each([
    [null, "—"],
    [-1, "—"],
    [0.25, "250 ms"],
    [3.46, "3.4 s"],
    [42.9, "42 s"],
    [245, "4m 05s"],
    [7380, "2h 03m"],
    [3 * 86400 + 4 * 3600 + 5, "3d 4h"],
  ])("%s seconds reads %s", (secs, text) => {
    expect(formatDuration(secs)).toBe(text);
  });
});

test("elapsed measures to now while a task has no end", () => {
  const start = "2026-01-01T00:00:00Z";
  expect(elapsed(start, "2026-01-01T00:01:30Z")).toBe(90);
  expect(elapsed(start, null, Date.parse(start) + 5000)).toBe(5);
  expect(elapsed(null, null)).toBeNull();
});

test("times are shown in the browser's time zone and round-trip through the date inputs", () => {
  const iso = "2026-11-20T13:05:09Z";
  const d = new Date(iso);
  const pad = (n: number): string => String(n).padStart(2, "0");
  expect(formatTime(iso)).toBe(
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:09`,
  );
  expect(formatTime(null)).toBe("—");
  const local = toLocalInput("2026-11-20T13:05:00Z");
  expect(fromLocalInput(local)).toBe("2026-11-20T13:05:00Z");
  expect(fromLocalInput("")).toBe("");
  expect(fromLocalInput("garbage")).toBe("");
});

test("presets leave the end open so new runs keep appearing", () => {
  const now = Date.parse("2026-11-20T12:00:00Z");
  expect(presetRange("24h", now)).toEqual({ start: "2026-11-19T12:00:00Z", end: "" });
  expect(presetRange("7d", now).start).toBe("2026-11-13T12:00:00Z");
  expect(presetRange("all", now)).toEqual({ start: "", end: "" });
});

test("byte sizes and counts", () => {
  expect(formatBytes(0)).toBe("0 B");
  expect(formatBytes(1023)).toBe("1023 B");
  expect(formatBytes(1536)).toBe("1.5 KiB");
  expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MiB");
  expect(formatBytes(300 * 1024 * 1024)).toBe("300 MiB");
  expect(formatBytes(null)).toBe("—");
  expect(formatCount(12345)).toBe("12,345");
});

test("state labels and colours follow the seed palette", () => {
  expect(stateLabel("did_not_run")).toBe("did not run");
  expect(stateStyle("completed")).toEqual({ background: "#3aceac", color: "#ffffff" });
  expect(stateStyle("running")).toEqual({ background: "#f0b04a", color: "#3c4249" });
  expect(stateStyle("finished").background).toBe("hsl(220, 0%, 65%)");
  expect(isActive("running")).toBe(true);
  expect(isActive("failed")).toBe(false);
});

test("excerpt keeps one line and marks the cut", () => {
  expect(excerpt("a\nb   c")).toBe("a b c");
  expect(excerpt("x".repeat(200), 10)).toBe(`${"x".repeat(9)}…`);
  expect(excerpt(null)).toBe("");
});

test("typed dates are ISO 24-hour in the browser's zone; impossible ones are errors, never rolled over", () => {
  const iso = (y: number, mo: number, d: number, h = 0, mi = 0): string =>
    new Date(y, mo - 1, d, h, mi).toISOString().replace(/\.\d{3}Z$/, "Z");
  expect(parseLocalInput("2026-11-20 14:30")).toEqual({ ok: true, iso: iso(2026, 11, 20, 14, 30) });
  expect(parseLocalInput("2026-11-20T14:30")).toEqual({ ok: true, iso: iso(2026, 11, 20, 14, 30) });
  expect(parseLocalInput("2026-11-20")).toEqual({ ok: true, iso: iso(2026, 11, 20) });
  expect(parseLocalInput("  ")).toEqual({ ok: true, iso: "" });
  for (const bad of ["2026-02-30 10:00", "2026-11-20 24:00", "2026-13-01", "11/20/2026 2:30 PM", "yesterday"]) {
    const parsed = parseLocalInput(bad);
    expect(parsed.ok, bad).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain("YYYY-MM-DD HH:MM");
  }
  expect(toLocalInput(iso(2026, 11, 20, 14, 30))).toBe("2026-11-20 14:30");
});

test("a range matching a preset lights it, within 1 % of the span for time spent open", () => {
  const now = Date.parse("2026-11-20T12:00:00Z");
  expect(matchPreset(presetRange("7d", now).start, "", now)).toBe("7d");
  expect(matchPreset(presetRange("7d", now).start, "", now + 3_600_000)).toBe("7d");
  expect(matchPreset(presetRange("24h", now).start, "", now)).toBe("24h");
  expect(matchPreset("", "", now)).toBe("all");
  expect(matchPreset(presetRange("7d", now).start, "2026-11-20T00:00:00Z", now)).toBeNull();
  expect(matchPreset("2026-11-10T00:00:00Z", "", now)).toBeNull();
});

test("the zone label names the zone and its offset", () => {
  expect(zoneLabel()).toMatch(/^times in (UTC|UTC[+-]\d\d:\d\d|\S+ \(UTC(?:[+-]\d\d:\d\d)?\))$/);
  expect(utcOffset()).toMatch(/^UTC([+-]\d\d:\d\d)?$/);
});
