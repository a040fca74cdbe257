// The dashboard tabs under the run: Charts (plotly figures), Definition (the version's code and its diff) and
// Compare (two runs task by task). Shown once a workflow or a run is chosen; a tab loads when it is opened.
import { type Ctx, listen, onTraits, selectedRun } from "./app";
import { ChartsView } from "./charts/charts";
import { CompareView } from "./compare/compare";
import { DefinitionView } from "./definition/definition";
import { button, h } from "./dom";

export type ViewTab = "charts" | "definition" | "compare";
const TABS: [ViewTab, string][] = [
  ["charts", "Charts"],
  ["definition", "Definition"],
  ["compare", "Compare"],
];

export class RunViews {
  readonly el: HTMLElement;
  private readonly tabs = new Map<ViewTab, HTMLButtonElement>();
  private readonly body = h("div", { class: "dt-views-body", testid: "dt-views-body" });
  private readonly charts: ChartsView;
  private readonly definition: DefinitionView;
  private readonly compare: CompareView;
  private active: ViewTab | null = null;

  constructor(private readonly ctx: Ctx) {
    this.charts = new ChartsView(ctx);
    this.definition = new DefinitionView(ctx);
    this.compare = new CompareView(ctx);
    const bar = h("div", { class: "dt-tabs", attrs: { role: "tablist", "aria-label": "Run views" } });
    for (const [tab, label] of TABS) {
      const b = button(label, `dt-view-${tab}`, () => this.open(this.active === tab ? null : tab), "dt-tab");
      b.setAttribute("role", "tab");
      b.setAttribute("aria-selected", "false");
      this.tabs.set(tab, b);
      bar.appendChild(b);
    }
    this.el = h("section", { class: "dt-views", testid: "dt-views", attrs: { "aria-label": "Charts, definition and comparison" } }, bar, this.body);
    listen(ctx, "compare", ({ a, b }) => {
      this.open("compare");
      void this.compare.load(a, b);
    });
    onTraits(ctx, ["workflow", "selected_run"], () => this.sync());
    this.sync();
  }

  private sync(): void {
    this.el.hidden = !this.ctx.model.get("workflow") && !selectedRun(this.ctx);
  }

  /** Open a tab (null: close them all). */
  open(tab: ViewTab | null): void {
    if (this.active === "charts") this.charts.hide();
    if (this.active === "definition") this.definition.hide();
    this.active = tab;
    for (const [t, b] of this.tabs) b.setAttribute("aria-selected", String(t === tab));
    if (tab === "charts") {
      this.body.replaceChildren(this.charts.el);
      this.charts.show();
    } else if (tab === "definition") {
      this.body.replaceChildren(this.definition.el);
      this.definition.show();
    } else if (tab === "compare") {
      this.body.replaceChildren(this.compare.el);
    } else {
      this.body.replaceChildren();
    }
  }
}
