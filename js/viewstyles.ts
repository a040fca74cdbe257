// Styles of the dashboard tabs: charts, definition, compare, and the run table's compare bar.
export const VIEWS_CSS = `
.dt-views { margin-top: 8px; border-top: 1px solid var(--dt-border); padding-top: 4px; }
.dt-views[hidden] { display: none; }
.dt-views-body:empty { display: none; }
.dt-views-body { padding: 8px 0; }
.dt-chart-bar { display: flex; gap: 6px; flex-wrap: wrap; margin-bottom: 6px; }
.dt-chart-bar .dt-btn[aria-pressed="true"] { border-color: var(--dt-accent); background: var(--dt-accent-soft); }
.dt-chart { min-height: 40px; width: 100%; }
.dt-chart .js-plotly-plot, .dt-chart .plot-container { width: 100%; }
.dt-compare-bar { display: flex; gap: 10px; align-items: center; padding: 4px 0; }
.dt-compare-bar[hidden] { display: none; }
.dt-compare-head { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-bottom: 6px; }
.dt-compare-side { display: inline-flex; gap: 6px; align-items: center; }
.dt-compare-diff { color: var(--dt-error); }
.dt-slower { color: var(--dt-error); }
.dt-faster { color: #1a7f5a; }
.dt-def-section { margin: 10px 0; }
.dt-def-task { border: 1px solid var(--dt-border); border-radius: 4px; padding: 4px 8px; margin: 4px 0; }
.dt-def-task summary { cursor: pointer; }
.dt-code { max-height: 320px; overflow: auto; }
.dt-diff .dt-diff-add { color: #1a7f5a; background: color-mix(in srgb, #3aceac 14%, transparent); }
.dt-diff .dt-diff-del { color: var(--dt-error); background: color-mix(in srgb, var(--dt-error) 10%, transparent); }
.dt-diff .dt-diff-hunk { color: var(--dt-accent); }
.dt-diff .dt-diff-file { color: var(--dt-fg2); font-weight: 600; }
.dt-diff span { display: block; white-space: pre; }
.dt-debugbar { display: inline-flex; gap: 6px; align-items: center; }
.dt-args { overflow-wrap: anywhere; }
.dt-literal circle { fill: var(--dt-bg); stroke: var(--dt-edge); stroke-width: 1.2; }
.dt-literal-edge { stroke: var(--dt-edge); stroke-width: 1; stroke-dasharray: 2 2; }
.dt-literal-text { font-size: 7px; fill: var(--dt-fg2); font-family: var(--dt-mono); pointer-events: none; }
`;

/** Live updates: the new-runs marker, the busy-kernel note, the log's Follow toggle. */
export const LIVE_CSS = `
.dt-new-runs { display: block; width: 100%; margin: 0 0 4px; padding: 3px 8px; cursor: pointer; font: inherit;
  font-size: var(--dt-small); color: var(--dt-accent); background: var(--dt-accent-soft);
  border: 1px solid var(--dt-accent); border-radius: 4px; text-align: center; }
.dt-new-runs[hidden], .dt-busy-note[hidden] { display: none; }
.dt-busy-note { font-size: var(--dt-small); color: var(--dt-fg2); font-style: italic; }
.dt-log-follow { display: inline-flex; align-items: center; gap: 3px; }
`;
