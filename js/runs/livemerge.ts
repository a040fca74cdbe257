// How a fresher run page meets the rows on screen: rows shown keep their place and take their new state, and runs
// that are new since (higher ids than any row shown) wait behind the "n new runs" marker instead of pushing the
// rows under the user's pointer down.
import type { RunSummary } from "../types";

export interface Merged {
  /** The rows to show: the ones on screen, each as the fresh page has it (or as it was, if it left the page). */
  runs: RunSummary[];
  /** Runs of the fresh page newer than every row on screen (held back until the marker is clicked). */
  held: RunSummary[];
}

export function mergePage(shown: readonly RunSummary[], fresh: readonly RunSummary[]): Merged {
  if (!shown.length) return { runs: [...fresh], held: [] };
  const byId = new Map(fresh.map((r) => [r.run_id, r]));
  const newest = Math.max(...shown.map((r) => r.run_id));
  const held = fresh.filter((r) => r.run_id > newest && !shown.some((s) => s.run_id === r.run_id));
  if (!held.length) return { runs: [...fresh], held: [] };
  return { runs: shown.map((r) => byId.get(r.run_id) ?? r), held };
}

/** Whether two pages show the same runs in the same order (then rows can be updated one by one). */
export function sameRows(a: readonly RunSummary[], b: readonly RunSummary[]): boolean {
  return a.length === b.length && a.every((r, i) => r.run_id === b[i]?.run_id);
}
