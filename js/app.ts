// What the explorer's parts share: the model, the request dispatcher, a small event bus for UI-only state,
// the loaded run, and helpers to read and write traits.
import type { AnyModel } from "@anywidget/types";
import type { Disposer } from "./dom";
import type { LiveKey } from "./livecache";
import type { Dispatcher } from "./protocol";
import type { Model, PlanAction, RunDetail, RunSummary } from "./types";

export interface PlanOverlay {
  runId: number;
  /** Actions by task id (valid when the rerun keeps the run's version) and by task name (any version). */
  byId: Map<number, PlanAction>;
  byName: Map<string, PlanAction>;
  sameVersion: boolean;
}

/** UI-only events between the parts (nothing here goes to the kernel). */
export interface Events {
  /** The selected run's detail was loaded or refreshed (null: no run shown). */
  "run-detail": RunDetail | null;
  /** A rerun preview to draw on the DAG, or null to clear it. */
  plan: PlanOverlay | null;
  /** Fetch everything on screen again. */
  refresh: null;
  /** Open the rerun dialog for a run. */
  "open-rerun": RunSummary;
  /** A rerun was created. */
  "rerun-created": RunSummary;
  /** Compare two runs (ids, in the order picked). */
  compare: { a: number; b: number };
  /** The kernel pushed new answers for these requests: re-read what you show if it is one of them. */
  live: LiveKey[];
  /** The run table now shows this list-runs query (null: no run table); the kernel is asked to follow it. */
  "runs-query": Record<string, unknown> | null;
}

/** Whether `keys` holds an answer of `kind` whose payload has these values. */
export function liveHas(keys: LiveKey[], kind: string, match: Record<string, unknown> = {}): boolean {
  return keys.some((k) => k.kind === kind && Object.entries(match).every(([f, v]) => k.payload[f] === v));
}

type Handler<T> = (value: T) => void;

export class Bus {
  private handlers = new Map<keyof Events, Set<Handler<never>>>();

  on<K extends keyof Events>(event: K, fn: Handler<Events[K]>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(fn as Handler<never>);
    return () => set?.delete(fn as Handler<never>);
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    for (const fn of [...(this.handlers.get(event) ?? [])]) {
      try {
        (fn as Handler<Events[K]>)(value);
      } catch (err) {
        console.error(`[datatailr] ${event} handler failed`, err);
      }
    }
  }
}

export interface Ctx {
  model: AnyModel<Model>;
  api: Dispatcher;
  /** The anywidget element (events to the page are dispatched from it). */
  el: HTMLElement;
  /** The explorer's root element inside `el`. */
  root: HTMLElement;
  bus: Bus;
  d: Disposer;
  /** The JupyterLab extension that inserts cells is active. */
  labext: boolean;
  /** The run shown in the DAG panel, with its tasks. */
  run: RunDetail | null;
}

export function setTraits(ctx: Ctx, values: Partial<Model>): void {
  for (const key of Object.keys(values) as (keyof Model)[]) {
    const value = values[key];
    if (value !== undefined) ctx.model.set(key, value);
  }
  ctx.model.save_changes();
}

/** Call `fn` once (coalesced per task) after any of the traits changes, until the explorer closes. */
export function onTraits(ctx: Ctx, names: (keyof Model)[], fn: () => void): void {
  let queued = false;
  const handler = (): void => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      if (!ctx.d.disposed) fn();
    });
  };
  for (const name of names) {
    ctx.model.on(`change:${name}`, handler);
    ctx.d.add(() => ctx.model.off(`change:${name}`, handler));
  }
}

export function listen<K extends keyof Events>(ctx: Ctx, event: K, fn: Handler<Events[K]>): void {
  ctx.d.add(ctx.bus.on(event, fn));
}

export function selectedTask(ctx: Ctx): number {
  const v = ctx.model.get("selected_task");
  return typeof v === "number" ? v : -1;
}

export function selectedRun(ctx: Ctx): number {
  const v = ctx.model.get("selected_run");
  return typeof v === "number" ? v : 0;
}
