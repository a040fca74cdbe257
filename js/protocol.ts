// Request/response dispatcher over the widget's custom messages: ids, timeouts, error objects and cancel.
// Wire form (docs/protocol.md): {kind, id, payload} -> {kind: "<kind>-response", id, payload | error}.
// Answers the kernel pushed ("live" notices) are kept in a small cache that answers requests at once.
import { decodeRunDetail } from "./columns";
import { AnswerCache, type AnswerText, LIVE_KINDS, type LiveAnswer, type LiveKey, POLL_MS, cacheKey, canonical, parseLive } from "./livecache";
import { REQUIRED_FIELDS, type Kind, type PayloadOf, type ResponseOf } from "./types";

/** The part of an anywidget model the dispatcher needs (a fake in tests). */
export interface MessageModel {
  on(event: "msg:custom", cb: (msg: unknown, buffers: DataView[]) => void): void;
  off(event: "msg:custom", cb: (msg: unknown, buffers: DataView[]) => void): void;
  send(content: unknown): void;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/** A request the cache cannot answer that waits this long probably waits for a busy kernel. */
export const BUSY_MS = 1500;
/** Kinds the kernel answers on a worker thread: they may take seconds even when the kernel is idle, so they are
 * taken for waiting on a busy kernel only after SLOW_FACTOR times as long. */
const SLOW_FACTOR = 4;
const SLOW_KINDS: ReadonlySet<string> = new Set([
  "search-log", "get-result", "bind-result", "plan-rerun", "rerun", "activity", "overview", "compare", "definition",
  "debug-code", "chart",
]);

/** A failed request: `type` is the kernel's exception name, or Timeout / Cancelled / ProtocolError / SendError. */
export class RequestError extends Error {
  readonly type: string;
  readonly kind: string;

  constructor(type: string, message: string, kind: string) {
    super(message);
    this.name = "RequestError";
    this.type = type;
    this.kind = kind;
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof RequestError && err.type === "Cancelled";
}

/** A message for the region that asked: the kernel's own message, or what went wrong on the way. */
export function errorText(err: unknown): string {
  if (err instanceof RequestError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Ask the kernel even when a pushed answer is at hand (after an action of this view, or Refresh). */
  fresh?: boolean;
}

/** Sees every answer the kernel sends: the kind, and the error when it failed (not timeouts or cancels). */
export type AnswerObserver = (kind: string, error?: RequestError) => void;

interface Pending {
  kind: string;
  settle: (value: unknown, error?: RequestError) => void;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Answers sent in a wire form of their own, decoded into what the parts use (get-run: columns to records). */
const DECODERS: { [K in Kind]?: (wire: Record<string, unknown>) => ResponseOf<K> } = { "get-run": decodeRunDetail };

/** The wire form of decoded answers: its canonical text is what the cache compares instead of the bigger records. */
const wireForms = new WeakMap<object, Record<string, unknown>>();

/** The answer as the parts use it; throws when its wire form is malformed. */
export function decodeAnswer(kind: string, wire: Record<string, unknown>): Record<string, unknown> {
  const decode = DECODERS[kind as Kind];
  if (!decode) return wire;
  const answer = decode(wire) as unknown as Record<string, unknown>;
  wireForms.set(answer, wire);
  return answer;
}

/** The text the cache compares `answer` by: a decoded answer's wire form (which no part changes) is made into text
 * only when a comparison needs it. */
function textOf(answer: Record<string, unknown>): AnswerText {
  const wire = wireForms.get(answer);
  return wire ? () => canonical(wire) : canonical(answer);
}

export class Dispatcher {
  private readonly pending = new Map<number, Pending>();
  private nextId: number;
  private readonly timeoutMs: number;
  private readonly onMessage = (msg: unknown): void => this.receive(msg);
  private closed = false;
  private readonly observers = new Set<AnswerObserver>();
  private readonly cache = new AnswerCache();
  private readonly pollMs: number;
  private readonly busyMs: number;
  private readonly revalidating = new Set<string>();
  private readonly liveListeners = new Set<(keys: LiveKey[]) => void>();
  private readonly busyListeners = new Set<(waiting: number) => void>();
  /** Ids of requests waiting longer than busyMs. */
  private readonly waiting = new Set<number>();

  constructor(
    private readonly model: MessageModel,
    options: { timeoutMs?: number; firstId?: number; pollMs?: number; busyMs?: number } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.pollMs = options.pollMs ?? POLL_MS;
    this.busyMs = options.busyMs ?? BUSY_MS;
    // Several views of one widget share the comm and see each other's responses: start ids at a random base.
    this.nextId = options.firstId ?? Math.floor(Math.random() * 2 ** 31) * 1000 + 1;
    model.on("msg:custom", this.onMessage);
  }

  /** performance.now() when the first request was sent and its answer came (the widget's start, for benchmarks). */
  firstSentAt: number | null = null;
  firstAnswerAt: number | null = null;

  get inFlight(): number {
    return this.pending.size;
  }

  /** Call `fn` with every answer from the kernel; returns what stops it. */
  observe(fn: AnswerObserver): () => void {
    this.observers.add(fn);
    return () => this.observers.delete(fn);
  }

  /** Call `fn` with the keys of answers the kernel pushed (or a revalidation found changed); returns its stop. */
  onLive(fn: (keys: LiveKey[]) => void): () => void {
    this.liveListeners.add(fn);
    return () => this.liveListeners.delete(fn);
  }

  /** Call `fn` with the number of requests waiting more than BUSY_MS for the kernel, whenever it changes. */
  onBusy(fn: (waiting: number) => void): () => void {
    this.busyListeners.add(fn);
    return () => this.busyListeners.delete(fn);
  }

  /** Whether the kernel pushed an answer for this request (then `request` answers it at once). */
  cached<K extends Kind>(kind: K, payload: PayloadOf<K>): boolean {
    return LIVE_KINDS.has(kind) && this.cache.has(cacheKey(kind, payload));
  }

  /** Requests (not answerable from pushed answers) now waiting more than BUSY_MS. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  private emit<T>(listeners: Set<(v: T) => void>, value: T): void {
    for (const fn of [...listeners]) {
      try {
        fn(value);
      } catch (err) {
        console.error("[datatailr] live listener failed", err);
      }
    }
  }

  private tell(kind: string, error?: RequestError): void {
    for (const fn of [...this.observers]) {
      try {
        fn(kind, error);
      } catch (err) {
        console.error("[datatailr] answer observer failed", err);
      }
    }
  }

  /** Ask the kernel, or answer from the pushed answers when one is at hand (asking again when it is older than
   * a poll: the pushed answer is shown meanwhile, and a changed one is announced through onLive). */
  request<K extends Kind>(kind: K, payload: PayloadOf<K>, options: RequestOptions = {}): Promise<ResponseOf<K>> {
    const key = LIVE_KINDS.has(kind) ? cacheKey(kind, payload) : null;
    if (key && !options.fresh && !this.closed && !options.signal?.aborted) {
      const hit = this.cache.get(key);
      if (hit) {
        if (hit.age > this.pollMs) this.revalidate(kind, payload, key);
        return Promise.resolve(hit.answer as ResponseOf<K>);
      }
    }
    return this.ask(kind, payload, options, key);
  }

  private revalidate<K extends Kind>(kind: K, payload: PayloadOf<K>, key: string): void {
    if (this.revalidating.has(key)) return;
    this.revalidating.add(key);
    this.ask(kind, payload, {}, null, true)
      .then((answer) => {
        const value = answer as Record<string, unknown>;
        if (this.cache.put(key, value, Date.now(), textOf(value))) {
          this.emit(this.liveListeners, [{ kind, payload: payload as Record<string, unknown> }]);
        }
      })
      .catch(() => undefined)
      .finally(() => this.revalidating.delete(key));
  }

  private ask<K extends Kind>(
    kind: K,
    payload: PayloadOf<K>,
    options: RequestOptions,
    key: string | null,
    quiet = false,
  ): Promise<ResponseOf<K>> {
    return new Promise<ResponseOf<K>>((resolve, reject) => {
      if (this.closed) {
        reject(new RequestError("Cancelled", "The explorer was closed.", kind));
        return;
      }
      const signal = options.signal;
      if (signal?.aborted) {
        reject(new RequestError("Cancelled", "The request was cancelled.", kind));
        return;
      }
      const id = this.nextId++;
      const ms = options.timeoutMs ?? this.timeoutMs;
      const onAbort = (): void => settle(undefined, new RequestError("Cancelled", "The request was cancelled.", kind));
      const timer = setTimeout(() => {
        const secs = Math.round(ms / 1000);
        settle(
          undefined,
          new RequestError(
            "Timeout",
            `The kernel did not answer "${kind}" within ${secs} s. It may be busy running a cell or restarting; try again when it is idle.`,
            kind,
          ),
        );
      }, ms);
      const busyTimer = quiet
        ? undefined
        : setTimeout(() => {
            this.waiting.add(id);
            this.emit(this.busyListeners, this.waiting.size);
          }, SLOW_KINDS.has(kind) ? this.busyMs * SLOW_FACTOR : this.busyMs);
      const settle = (value: unknown, error?: RequestError): void => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        clearTimeout(busyTimer);
        if (this.waiting.delete(id)) this.emit(this.busyListeners, this.waiting.size);
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else {
          // keep a pushed answer current with what the kernel just said (never adds new keys)
          const answer = value as Record<string, unknown>;
          if (key && this.cache.has(key)) this.cache.put(key, answer, Date.now(), textOf(answer));
          resolve(value as ResponseOf<K>);
        }
      };
      this.pending.set(id, { kind, settle });
      signal?.addEventListener("abort", onAbort);
      try {
        this.firstSentAt ??= performance.now();
        this.model.send({ kind, id, payload });
      } catch (err) {
        settle(undefined, new RequestError("SendError", `Could not send "${kind}" to the kernel: ${errorText(err)}`, kind));
      }
    });
  }

  /** Keep answers the kernel sent with the widget's state, so that the first requests are answered at once. */
  seed(answers: unknown): void {
    const given = parseLive({ kind: "live", answers });
    if (given) this.keep(given);
  }

  private keep(pushed: LiveAnswer[]): LiveKey[] {
    const keys: LiveKey[] = [];
    for (const a of pushed) {
      const missing = REQUIRED_FIELDS[a.kind as Kind].filter((f) => !(f in a.answer));
      if (missing.length) continue;
      let answer: Record<string, unknown>;
      try {
        answer = decodeAnswer(a.kind, a.answer);
      } catch (err) {
        console.error(`[datatailr] a pushed "${a.kind}" answer is malformed: ${errorText(err)}`);
        continue;
      }
      this.cache.put(cacheKey(a.kind, a.payload), answer, Date.now(), textOf(answer));
      keys.push({ kind: a.kind, payload: a.payload });
    }
    return keys;
  }

  private receive(msg: unknown): void {
    const pushed = parseLive(msg);
    if (pushed) {
      const keys = this.keep(pushed);
      if (keys.length) this.emit(this.liveListeners, keys);
      return;
    }
    if (!isRecord(msg) || typeof msg.id !== "number" || typeof msg.kind !== "string") return;
    const entry = this.pending.get(msg.id);
    if (!entry || msg.kind !== `${entry.kind}-response`) return;
    this.firstAnswerAt ??= performance.now();
    if (msg.error !== undefined && msg.error !== null) {
      const e = isRecord(msg.error) ? msg.error : {};
      const type = typeof e.type === "string" ? e.type : "Error";
      const message = typeof e.message === "string" && e.message ? e.message : `The kernel could not answer "${entry.kind}".`;
      const error = new RequestError(type, message, entry.kind);
      entry.settle(undefined, error);
      this.tell(entry.kind, error);
      return;
    }
    const payload = msg.payload;
    const missing = isRecord(payload)
      ? REQUIRED_FIELDS[entry.kind as Kind].filter((f) => !(f in payload))
      : ["payload"];
    if (missing.length) {
      entry.settle(
        undefined,
        new RequestError(
          "ProtocolError",
          `The kernel's "${entry.kind}" answer lacks ${missing.join(", ")}; are the kernel package and the widget the same version?`,
          entry.kind,
        ),
      );
      return;
    }
    let answer: Record<string, unknown>;
    try {
      answer = decodeAnswer(entry.kind, payload as Record<string, unknown>);
    } catch (err) {
      entry.settle(
        undefined,
        new RequestError("ProtocolError", `The kernel's "${entry.kind}" answer is malformed: ${errorText(err)}.`, entry.kind),
      );
      return;
    }
    entry.settle(answer);
    this.tell(entry.kind);
  }

  /** Reject every pending request and stop listening; later requests are rejected at once. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.model.off("msg:custom", this.onMessage);
    this.cache.clear();
    this.liveListeners.clear();
    for (const [, p] of [...this.pending]) {
      p.settle(undefined, new RequestError("Cancelled", "The explorer was closed.", p.kind));
    }
  }
}

/** Keeps only the newest of a series of requests alive: next() aborts the previous one. */
export class Latest {
  private controller: AbortController | null = null;

  next(): AbortSignal {
    this.controller?.abort();
    this.controller = new AbortController();
    return this.controller.signal;
  }

  cancel(): void {
    this.controller?.abort();
    this.controller = null;
  }
}
