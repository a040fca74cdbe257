// The answers the kernel pushed unsolicited ("live" notices, docs/protocol.md), kept by kind + canonical JSON
// payload so that a request for the same thing resolves at once, also while the kernel is busy running a cell.

/** How often the kernel looks for changes while the view is visible: a pushed answer is at most this old. */
export const POLL_MS = 2000;

/** Kinds the kernel may push (and the only ones the cache answers). */
export const LIVE_KINDS: ReadonlySet<string> = new Set(["list-runs", "list-workflows", "get-run", "read-log"]);

/** One pushed answer: what `request(kind, payload)` would have answered. */
export interface LiveAnswer {
  kind: string;
  payload: Record<string, unknown>;
  answer: Record<string, unknown>;
}

/** Which answers changed (the parts re-read what they show when it is theirs). */
export interface LiveKey {
  kind: string;
  payload: Record<string, unknown>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** JSON with object keys sorted at every depth and undefined members left out: equal payloads, equal text. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonical(v))).join(",")}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function cacheKey(kind: string, payload: unknown): string {
  return `${kind} ${canonical(payload ?? {})}`;
}

/** The answers of a "live" notice that have the right shape; anything else in it is dropped. */
export function parseLive(msg: unknown): LiveAnswer[] | null {
  if (!isRecord(msg) || msg.kind !== "live" || "id" in msg || !Array.isArray(msg.answers)) return null;
  return msg.answers.filter(
    (a): a is LiveAnswer =>
      isRecord(a) && typeof a.kind === "string" && LIVE_KINDS.has(a.kind) && isRecord(a.payload) && isRecord(a.answer),
  );
}

/** The text an answer is compared by, or how to make it (made only when a comparison needs it). */
export type AnswerText = string | (() => string);

interface Entry {
  answer: Record<string, unknown>;
  text: AnswerText;
  at: number;
}

function resolved(e: Entry): string {
  if (typeof e.text === "function") e.text = e.text();
  return e.text;
}

/** A small map of answers, least recently used dropped first. */
export class AnswerCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly size = 96) {}

  get count(): number {
    return this.entries.size;
  }

  /** The answer and its age in ms, or undefined. */
  get(key: string, now = Date.now()): { answer: Record<string, unknown>; age: number } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return { answer: e.answer, age: now - e.at };
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Keep `answer`; whether it differs from the one kept before. `text` stands for the answer in that comparison
   * (an answer decoded from a compact wire form passes the wire form's canonical text: cheaper to make); given as
   * a function, it is made only when a later answer for the key is compared (a 10,000-task run: 60 ms saved at
   * the widget's start). */
  put(key: string, answer: Record<string, unknown>, now = Date.now(), text: AnswerText = canonical(answer)): boolean {
    const old = this.entries.get(key);
    this.entries.delete(key);
    const entry: Entry = { answer, text, at: now };
    this.entries.set(key, entry);
    while (this.entries.size > this.size) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return !old || resolved(old) !== resolved(entry);
  }

  clear(): void {
    this.entries.clear();
  }
}
