// A hand-made anywidget model for tests: traits in a plain object, custom messages answered by a handler.
import type { Model } from "../types";
import { wireMessage } from "./columnar";

type Listener = (msg: unknown, buffers: DataView[]) => void;
export type Handler = (kind: string, payload: Record<string, unknown>) => unknown;

export interface Sent {
  kind: string;
  id: number;
  payload: Record<string, unknown>;
}

export const DEFAULT_STATE: Model = {
  store_label: "sqlite:///tmp/store",
  envs: ["dev", "pre", "prod"],
  env: "dev",
  workflow: "",
  start: "",
  end: "",
  states: [],
  selected_run: 0,
  selected_task: -1,
  page_size: 25,
  message: "",
};

/** Thrown by a handler to answer with an error response. */
export class KernelError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export class FakeModel {
  state: Model;
  sent: Sent[] = [];
  saves = 0;
  /** When false, requests stay unanswered (for timeout tests). */
  answer = true;
  private listeners = new Map<string, Set<Listener>>();
  widget_manager = {
    get_model: (): Promise<never> => Promise.reject(new Error("no widget manager in tests")),
  };

  constructor(
    private handler: Handler = () => ({}),
    state: Partial<Model> = {},
  ) {
    this.state = { ...DEFAULT_STATE, ...state };
  }

  get<K extends keyof Model>(key: K): Model[K] {
    return this.state[key];
  }

  set<K extends keyof Model>(key: K, value: Model[K]): void {
    const old = this.state[key];
    this.state[key] = value;
    if (JSON.stringify(old) !== JSON.stringify(value)) this.emit(`change:${String(key)}`);
  }

  save_changes(): void {
    this.saves++;
  }

  on(event: string, cb: Listener): void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(cb);
  }

  off(event?: string | null, cb?: Listener | null): void {
    if (!event) {
      this.listeners.clear();
      return;
    }
    if (!cb) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(cb);
  }

  listenerCount(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  emit(event: string, msg?: unknown, buffers: DataView[] = []): void {
    // get-run answers written as records in the tests go out in columns, as the kernel sends them
    const sent = event === "msg:custom" ? wireMessage(msg) : msg;
    for (const cb of [...(this.listeners.get(event) ?? [])]) cb(sent, buffers);
  }

  send(content: unknown): void {
    const msg = content as Sent;
    this.sent.push(msg);
    if (!this.answer) return;
    setTimeout(() => {
      void this.respond(msg);
    }, 0);
  }

  private async respond(msg: Sent): Promise<void> {
    const kind = `${msg.kind}-response`;
    try {
      const payload = await this.handler(msg.kind, msg.payload);
      this.emit("msg:custom", { kind, id: msg.id, payload }, []);
    } catch (err) {
      const type = err instanceof KernelError ? err.type : "Error";
      const message = err instanceof Error ? err.message : String(err);
      this.emit("msg:custom", { kind, id: msg.id, error: { type, message } }, []);
    }
  }

  requests(kind: string): Sent[] {
    return this.sent.filter((m) => m.kind === kind);
  }
}

/** Let pending timers and promise chains run. */
export async function settle(rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 0));
}
