// Styles of the workflows overview and its heatmap.
export const OVERVIEW_CSS = `
.dt-overview { padding-top: 8px; }
.dt-overview[hidden], .dt-runs[hidden], .dt-body[hidden] { display: none !important; }
.dt-ov-top { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; margin-bottom: 8px; }
.dt-ov-heading { font-weight: 600; margin-bottom: 4px; }
.dt-heatmap-svg { user-select: none; display: block; }
.dt-heat-label { font-size: 10px; fill: var(--dt-fg2); font-family: var(--dt-font); }
.dt-heat-cell { cursor: crosshair; stroke: transparent; stroke-width: 1.5; }
.dt-heat-cell:hover { stroke: var(--dt-fg2); }
.dt-heat-brushed { stroke: var(--dt-accent); }
.dt-ov-legend { display: flex; gap: 12px; margin-top: 4px; }
.dt-ov-key { display: inline-flex; gap: 4px; align-items: center; }
.dt-ov-toolbar { display: flex; gap: 10px; align-items: center; margin: 6px 0; }
.dt-ov-toolbar input { width: 240px; }
.dt-ov-name { font-weight: 600; text-align: left; }
.dt-ov-strip { display: inline-flex; gap: 2px; align-items: center; }
.dt-ov-run { border: none; background: none; padding: 1px; cursor: pointer; display: inline-flex; border-radius: 2px; }
.dt-ov-run .dt-dot { width: 9px; height: 14px; border-radius: 2px; }
.dt-ov-run:hover, .dt-ov-run:focus-visible { outline: 2px solid var(--dt-accent); }
.dt-ov-schedule { display: flex; flex-direction: column; }
.dt-ov-mini { display: block; }
.dt-ov-mini-bg { fill: var(--dt-bg2); stroke: var(--dt-border); stroke-width: .5; }
`;
