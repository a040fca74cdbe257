// Shared view pieces: state pills and dots, inline errors and notes, clipboard copy, request keys.
import { h, button } from "./dom";
import { stateLabel, stateStyle } from "./format";
import { errorText, isCancelled } from "./protocol";

export function statePill(state: string | null | undefined, testid = "dt-state-pill"): HTMLSpanElement {
  const s = stateStyle(state);
  const pill = h("span", { class: "dt-pill", testid, text: stateLabel(state) });
  pill.style.background = s.background;
  pill.style.color = s.color;
  pill.dataset.state = state ?? "unknown";
  return pill;
}

export function stateDot(state: string | null | undefined, title?: string): HTMLSpanElement {
  const dot = h("span", { class: "dt-dot", title: title ?? stateLabel(state) });
  dot.style.background = stateStyle(state).background;
  return dot;
}

/** An inline error for the region that asked, with an optional retry. Nothing for a cancelled request. */
export function errorBox(what: string, err: unknown, retry?: () => void, testid = "dt-error"): HTMLElement | null {
  if (isCancelled(err)) return null;
  const box = h("div", { class: "dt-error", testid, attrs: { role: "alert" } }, h("span", { text: `${what}: ${errorText(err)}` }));
  if (retry) box.appendChild(button("Retry", `${testid}-retry`, retry, "dt-btn dt-btn-small"));
  return box;
}

export function note(text: string, testid?: string, cls = "dt-note"): HTMLElement {
  return h("div", { class: cls, testid, text });
}

export function loading(text = "Loading…", testid = "dt-loading"): HTMLElement {
  return h("div", { class: "dt-note dt-loading", testid }, h("span", { class: "dt-spinner" }), text);
}

/** Copy text: the async clipboard API, else a hidden textarea and execCommand. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && typeof navigator.clipboard.writeText === "function") {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the textarea
  }
  try {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = typeof document.execCommand === "function" && document.execCommand("copy");
    area.remove();
    return ok;
  } catch {
    return false;
  }
}

let keyCounter = 0;

/** A fresh idempotency key for one rerun dialog opening. */
export function requestKey(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  keyCounter += 1;
  return `rk-${Date.now().toString(36)}-${keyCounter}-${Math.random().toString(36).slice(2, 10)}`;
}

/** `localStorage["datatailr:debug"] = "1"` shows developer details (layout and draw timings) in the explorer. */
export function debugEnabled(): boolean {
  try {
    return globalThis.localStorage?.getItem("datatailr:debug") === "1";
  } catch {
    return false;
  }
}
