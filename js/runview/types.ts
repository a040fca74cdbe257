// Traits of the RunMonitor (datatailr_jupyter/explorer/runmonitor.py): the explorer's, the layout, and the progress
// of the one run it shows.
import type { Model } from "../types";

export interface RunModel extends Model {
  /** "run": the single-run view; absent or "" for the explorer. */
  mode: string;
  run_state: string;
  n_tasks: number;
  n_done: number;
  n_running: number;
  n_failed: number;
  /** Seconds the run has run (to now while it is active). */
  elapsed: number;
  /** The kernel follows the run from a thread and pushes what the view shows. */
  following: boolean;
}

export type Progress = Pick<RunModel, "run_state" | "n_tasks" | "n_done" | "n_running" | "n_failed" | "elapsed">;
