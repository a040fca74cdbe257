// Formatting for display: durations, local times, byte sizes, counts, and run states with their colours.

/** Seed colours per state: [background, label drawn in dark text] (models.py STATE_COLOURS). */
export const STATE_COLOURS: Readonly<Record<string, readonly [string, boolean]>> = {
  created: ["#b3bcc8", true],
  scheduled: ["#6ea8ff", true],
  pending: ["#9b85ff", true],
  running: ["#f0b04a", true],
  completed: ["#3aceac", false],
  failed: ["#ff4344", false],
  failed_after: ["#ff7757", true],
  out_of_memory: ["#d9534f", false],
  stopped: ["#6f7785", false],
  expired: ["#9098a3", true],
  did_not_run: ["#aab1b8", true],
  unknown: ["#4f5760", false],
};
export const OTHER_STATE_COLOUR = "hsl(220, 0%, 65%)";
export const DARK_LABEL = "#3c4249";
export const LIGHT_LABEL = "#ffffff";

export interface StateStyle {
  background: string;
  color: string;
}

export function stateStyle(state: string | null | undefined): StateStyle {
  const entry = state ? STATE_COLOURS[state] : undefined;
  if (!entry) return { background: OTHER_STATE_COLOUR, color: DARK_LABEL };
  return { background: entry[0], color: entry[1] ? DARK_LABEL : LIGHT_LABEL };
}

export function stateLabel(state: string | null | undefined): string {
  return state ? state.replace(/_/g, " ") : "unknown";
}

const ACTIVE = new Set(["created", "scheduled", "pending", "running"]);

/** A state that can still change (the view keeps polling while it is shown). */
export function isActive(state: string | null | undefined): boolean {
  return state !== null && state !== undefined && ACTIVE.has(state);
}

export const DASH = "—";

/** Human duration: 850 ms, 12.3 s, 4m 05s, 2h 03m, 3d 4h. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return DASH;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 10) return `${(Math.floor(seconds * 10) / 10).toFixed(1)} s`;
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  const s = Math.floor(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad2(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad2(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** Seconds from start to end; while running (no end), up to `now`. */
export function elapsed(start: string | null, end: string | null, now: number = Date.now()): number | null {
  const a = parseTime(start);
  if (a === null) return null;
  const b = end ? parseTime(end) : now;
  return b === null ? null : Math.max(0, (b - a) / 1000);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `2026-11-20 14:03:05` in the browser's time zone. */
export function formatTime(iso: string | null | undefined): string {
  const ms = parseTime(iso);
  if (ms === null) return DASH;
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

export function timeZoneName(): string {
  // made once per page: Intl.DateTimeFormat() costs about 20 ms the first time, inside the widget's start
  if (zoneName === null) {
    try {
      zoneName = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
    } catch {
      zoneName = "local time";
    }
  }
  return zoneName;
}

let zoneName: string | null = null;

/** The browser's offset from UTC at `ms` as `UTC+01:00` (`UTC` when there is none). */
export function utcOffset(ms: number = Date.now()): string {
  const minutes = -new Date(ms).getTimezoneOffset();
  if (minutes === 0) return "UTC";
  const a = Math.abs(minutes);
  return `UTC${minutes > 0 ? "+" : "-"}${pad2(Math.floor(a / 60))}:${pad2(a % 60)}`;
}

/** What the date inputs and tables are in: `times in Europe/Paris (UTC+01:00)`, or `times in UTC`. */
export function zoneLabel(ms: number = Date.now()): string {
  const zone = timeZoneName();
  const offset = utcOffset(ms);
  if (zone === "UTC" || zone === "Etc/UTC") return offset === "UTC" ? "times in UTC" : `times in ${offset}`;
  return `times in ${zone} (${offset})`;
}

/** The form dates are typed in and shown in the date inputs. */
export const DATE_INPUT_FORMAT = "YYYY-MM-DD HH:MM";

/** `2026-11-20 14:03` (browser time zone, 24-hour) from an ISO UTC string; "" when empty. */
export function toLocalInput(iso: string | null | undefined): string {
  const ms = parseTime(iso);
  if (ms === null) return "";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

export type ParsedInput = { ok: true; iso: string } | { ok: false; error: string };

/**
 * A typed date in the browser's time zone: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` (also with `T` or seconds), 24-hour.
 * Empty is valid (no bound). Impossible dates such as 2026-02-30 or 25:00 are errors, never rolled over.
 */
export function parseLocalInput(value: string): ParsedInput {
  const text = value.trim();
  if (!text) return { ok: true, iso: "" };
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) return { ok: false, error: `“${excerpt(text, 30)}” is not a date: use ${DATE_INPUT_FORMAT}, e.g. 2026-11-20 14:30` };
  const [y, mo, d, hh, mm, ss] = [+m[1], +m[2], +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0];
  const date = new Date(y, mo - 1, d, hh, mm, ss);
  const valid =
    mo >= 1 && mo <= 12 && hh <= 23 && mm <= 59 && ss <= 59 &&
    date.getFullYear() === y && date.getMonth() === mo - 1 && date.getDate() === d;
  if (!valid || Number.isNaN(date.getTime())) return { ok: false, error: `${excerpt(text, 30)} is not a real date and time (24-hour ${DATE_INPUT_FORMAT})` };
  return { ok: true, iso: toWireTime(date.getTime()) };
}

/** ISO UTC string (`...Z`, whole seconds) from a typed date; "" when empty or invalid. */
export function fromLocalInput(value: string): string {
  const parsed = parseLocalInput(value);
  return parsed.ok ? parsed.iso : "";
}

export function toWireTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export type Preset = "24h" | "7d" | "30d" | "all";
const PRESET_MS: Record<Exclude<Preset, "all">, number> = { "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000 };

/** Start/end traits for a preset: the end stays open so new runs keep appearing. */
export function presetRange(preset: Preset, now: number = Date.now()): { start: string; end: string } {
  if (preset === "all") return { start: "", end: "" };
  return { start: toWireTime(now - PRESET_MS[preset]), end: "" };
}

/**
 * The preset a range is (so `--since 7d` lights "7d"): no end and a start one span back from now, give or take
 * 1 % of the span (at least two minutes) for the time the explorer has been open; "all" for no bounds.
 */
export function matchPreset(start: string, end: string, now: number = Date.now()): Preset | null {
  if (!start && !end) return "all";
  const from = parseTime(start);
  if (end || from === null) return null;
  for (const [preset, span] of Object.entries(PRESET_MS) as [Exclude<Preset, "all">, number][]) {
    if (Math.abs(now - from - span) <= Math.max(120_000, span / 100)) return preset;
  }
  return null;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return DASH;
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${v} B`;
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[i]}`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${formatCount(n)} ${n === 1 ? word : many}`;
}

/** One line of at most `max` characters with an ellipsis (full text goes in a title attribute). */
export function excerpt(text: string | null | undefined, max = 120): string {
  if (!text) return "";
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
