// Small DOM helpers: elements built from text only (never HTML strings), and a disposer for cleanup.

export type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  testid?: string;
  title?: string;
  text?: string;
  attrs?: Record<string, string>;
}

/** Create an element; string children become text nodes, so nothing is ever parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.testid) el.dataset.testid = props.testid;
  if (props.title !== undefined) el.title = props.title;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) el.setAttribute(k, v);
  if (props.text !== undefined) el.textContent = props.text;
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

/** Replace all children of `el`. */
export function setChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export function button(label: string, testid: string, onClick: (ev: MouseEvent) => void, cls = "dt-btn"): HTMLButtonElement {
  const b = h("button", { class: cls, testid, text: label, attrs: { type: "button" } });
  b.addEventListener("click", onClick);
  return b;
}

/** Collects cleanup work: listeners, timers, workers; dispose() runs it all once. */
export class Disposer {
  private fns: (() => void)[] = [];
  private done = false;

  add(fn: () => void): void {
    if (this.done) fn();
    else this.fns.push(fn);
  }

  listen<E extends Event>(
    target: EventTarget,
    type: string,
    fn: (ev: E) => void,
    options?: AddEventListenerOptions,
  ): void {
    const handler = fn as EventListener;
    target.addEventListener(type, handler, options);
    this.add(() => target.removeEventListener(type, handler, options));
  }

  interval(fn: () => void, ms: number): () => void {
    const id = setInterval(fn, ms);
    const stop = (): void => clearInterval(id);
    this.add(stop);
    return stop;
  }

  timeout(fn: () => void, ms: number): () => void {
    const id = setTimeout(fn, ms);
    const stop = (): void => clearTimeout(id);
    this.add(stop);
    return stop;
  }

  get disposed(): boolean {
    return this.done;
  }

  dispose(): void {
    if (this.done) return;
    this.done = true;
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        fn();
      } catch (err) {
        console.error("[datatailr] cleanup failed", err);
      }
    }
  }
}
