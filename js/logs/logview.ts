// One task log (stdout or stderr): the tail first, older ranges on demand, ANSI colours as text spans, system
// lines hidden by default, search in the kernel over the whole file, copy, and polling while the task runs.
import { AnsiParser, stripAnsi } from "./ansi";
import { type Ctx, liveHas } from "../app";
import { Disposer, button, h, setChildren } from "../dom";
import { formatBytes, formatCount, plural } from "../format";
import { Latest, errorText } from "../protocol";
import type { LogChunk, LogMatch, LogStream } from "../types";
import { copyText, errorBox, loading } from "../ui";

/** Lines the engine writes into task logs start with this prefix (hidden unless "Show system lines"). */
export const SYSTEM_LINE_PREFIX = "⟦dt⟧ ";
/** Every prefix that marks a system line: the engine's, and its dimmed `[dt]` form. */
export const SYSTEM_LINE_PREFIXES: readonly string[] = [SYSTEM_LINE_PREFIX, "\x1b[2m[dt] "];

export function isSystemLine(line: string): boolean {
  return SYSTEM_LINE_PREFIXES.some((p) => line.startsWith(p));
}

export const TAIL_BYTES = 64 * 1024;
/** Lines of a window drawn at once (more than a screen: the log box shows 12–40 lines); the lines above them are
 * drawn right after the paint. 150 took about 20 ms to draw in Chromium, 60 about 8 ms. */
export const FIRST_LINES = 60;

/** Where the last `n` lines of `text` start (0 when it has no more than `n`). */
export function lastLinesStart(text: string, n: number): number {
  let end = text.endsWith("\n") ? text.length - 1 : text.length;
  for (let i = 0; i < n; i++) {
    const nl = end > 0 ? text.lastIndexOf("\n", end - 1) : -1;
    if (nl < 0) return 0;
    end = nl;
  }
  return end + 1;
}
export const LOG_POLL_MS = 2000;

/** UTF-8 length of a string, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** `chunk` cut after its last full line while the log is still written (the rest comes with the next read). */
export function wholeLines(chunk: LogChunk): LogChunk {
  if (chunk.complete || !chunk.text || chunk.text.endsWith("\n")) return chunk;
  const cut = chunk.text.lastIndexOf("\n");
  if (cut < 0) return chunk;
  const text = chunk.text.slice(0, cut + 1);
  return { ...chunk, text, next_offset: chunk.offset + utf8Length(text) };
}

interface Line {
  offset: number;
  el: HTMLElement;
  raw: string;
}

export class LogView {
  readonly el: HTMLElement;
  private readonly d = new Disposer();
  private readonly log = h("div", { class: "dt-log dt-hide-sys", testid: "dt-log", attrs: { tabindex: "0" } });
  private readonly info = h("div", { class: "dt-small dt-muted", testid: "dt-log-info" });
  private readonly older = button("Load older", "dt-log-older", () => void this.loadOlder(), "dt-btn dt-btn-small");
  private readonly newer = button("Load newer", "dt-log-newer", () => void this.loadNewer(), "dt-btn dt-btn-small");
  private readonly query = h("input", { class: "dt-input", testid: "dt-log-search", attrs: { type: "search", placeholder: "Search the whole log…", "aria-label": "Search log" } });
  private readonly regex = h("input", { testid: "dt-log-regex", attrs: { type: "checkbox" } });
  private readonly system = h("input", { testid: "dt-log-system", attrs: { type: "checkbox" } });
  private readonly follow = h("input", { testid: "dt-log-follow", attrs: { type: "checkbox" } });
  private readonly matchCount = h("span", { class: "dt-small dt-muted", testid: "dt-log-match-count" });
  private readonly matchList = h("div", { class: "dt-matches", testid: "dt-log-matches", attrs: { hidden: "" } });
  private readonly copyStatus = h("span", { class: "dt-small dt-muted", testid: "dt-log-copy-status" });
  private readonly status = h("div", { testid: "dt-log-status" });
  private lines: Line[] = [];
  /** Lines of the window not drawn yet (above the first screen), drawn right after the paint. */
  private held: { text: string; offset: number } | null = null;
  private parser = new AnsiParser();
  private start = 0;
  private end = 0;
  private size = 0;
  private complete = false;
  private following = true;
  /** The window ends at the log's end as last read (new lines are appended to it). */
  private tailing = false;
  private matches: LogMatch[] = [];
  private matchesFor = "";
  private current = -1;
  private readonly latest = new Latest();
  private readonly searchLatest = new Latest();
  private polling = false;
  private loaded = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly runId: number,
    private readonly taskId: number,
    private readonly stream: LogStream,
  ) {
    this.d.add(() => {
      this.latest.cancel();
      this.searchLatest.cancel();
    });
    this.d.listen(this.system, "change", () => {
      this.log.classList.toggle("dt-hide-sys", !this.system.checked);
      this.noteSystemOnly();
    });
    this.follow.checked = true;
    this.d.listen(this.follow, "change", () => this.setFollowing(this.follow.checked, true));
    // scrolling up stops following the end; scrolling back to the bottom follows again
    this.d.listen(this.log, "scroll", () => {
      if (this.loaded) this.setFollowing(this.atBottom(), false);
    });
    // the kernel pushed this log's tail again: append what is new
    this.d.add(
      ctx.bus.on("live", (keys) => {
        if (liveHas(keys, "read-log", this.tailPayload())) void this.fromTail();
      }),
    );
    this.d.listen(this.query, "keydown", (ev: KeyboardEvent) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        void this.search(ev.shiftKey ? -1 : 1);
      }
    });
    const bar = h(
      "div",
      { class: "dt-logbar" },
      this.query,
      h("label", { title: "Treat the search as a regular expression" }, this.regex, ".*"),
      this.matchCount,
      h("label", {}, this.system, "Show system lines"),
      h("label", { class: "dt-log-follow", title: "Keep the newest lines in view while the task runs" }, this.follow, "Follow"),
      button("Copy", "dt-log-copy", () => void this.copy(), "dt-btn dt-btn-small"),
      this.copyStatus,
    );
    this.older.hidden = this.newer.hidden = true;
    this.el = h(
      "div",
      { class: "dt-logview", testid: `dt-logview-${stream}` },
      bar,
      this.matchList,
      this.status,
      h("div", { class: "dt-logbar" }, this.older, this.info),
      this.log,
      this.newer,
    );
    this.d.interval(() => void this.poll(), LOG_POLL_MS);
    void this.loadTail();
  }

  private payload(extra: { offset?: number; limit?: number; tail?: number }) {
    return { run_id: this.runId, task_id: this.taskId, stream: this.stream, ...extra };
  }

  /** The request of the log's tail: the one the kernel pushes while the task runs. */
  private tailPayload() {
    return this.payload({ tail: TAIL_BYTES });
  }

  private atBottom(): boolean {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 24;
  }

  get followed(): boolean {
    return this.following;
  }

  private setFollowing(on: boolean, jump: boolean): void {
    this.following = on;
    this.follow.checked = on;
    if (on && jump) {
      this.scrollToEnd();
      void this.poll();
    }
  }

  private async loadTail(): Promise<void> {
    const signal = this.latest.next();
    setChildren(this.status, loading(`Loading ${this.stream}…`, "dt-log-loading"));
    try {
      this.log.dataset.requestAt = performance.now().toFixed(1); // the benchmark's split of the first screen
      const chunk = wholeLines(await this.ctx.api.request("read-log", this.tailPayload(), { signal }));
      this.log.dataset.answerAt = performance.now().toFixed(1);
      this.status.replaceChildren();
      this.tailing = true;
      this.replace(chunk);
      this.following = true;
      this.loaded = true;
      this.scrollToEnd();
      this.log.dataset.renderedAt = performance.now().toFixed(1);
    } catch (err) {
      const box = errorBox(`Could not load ${this.stream}`, err, () => void this.loadTail(), "dt-log-error");
      if (box) setChildren(this.status, box);
    }
  }

  /** Replace the window with `chunk`: its last FIRST_LINES lines now, the lines above them after the paint. */
  private replace(chunk: LogChunk): void {
    this.lines = [];
    this.parser = new AnsiParser();
    this.held = null;
    const cut = lastLinesStart(chunk.text, FIRST_LINES);
    const above = chunk.text.slice(0, cut);
    const start = chunk.offset + utf8Length(above);
    this.log.replaceChildren(this.renderLines(chunk.text.slice(cut), start, this.parser));
    this.start = start;
    this.end = chunk.next_offset;
    this.track(chunk);
    if (!above) return;
    const held = { text: above, offset: chunk.offset };
    this.held = held;
    const later = (): void => void this.d.timeout(() => this.held === held && this.prepend(above, chunk.offset), 0);
    if (typeof requestAnimationFrame === "function") requestAnimationFrame(later);
    else later();
  }

  /** Draw `text` (lines that end where the window starts) above the window, keeping what is in view in place. */
  private prepend(text: string, offset: number): void {
    if (this.d.disposed) return;
    this.held = null;
    const added: Line[] = [];
    const frag = this.renderLines(text, offset, new AnsiParser(), added);
    const before = this.log.scrollHeight;
    this.log.prepend(frag);
    this.log.scrollTop += this.log.scrollHeight - before;
    this.lines = [...added, ...this.lines];
    this.start = offset;
    this.track({ run_id: this.runId, task_id: this.taskId, stream: this.stream, offset, next_offset: this.end,
      size: this.size, text: "", complete: this.complete });
  }

  private track(chunk: LogChunk): void {
    this.size = chunk.size;
    this.complete = chunk.complete;
    this.older.hidden = this.start <= 0;
    this.older.textContent = `Load older (${formatBytes(this.start)} more)`;
    this.newer.hidden = this.tailing || this.end >= this.size;
    const shown = this.end - this.start;
    if (this.size === 0) this.info.textContent = this.complete ? "(no output)" : "(no output yet)";
    else if (shown >= this.size) this.info.textContent = `${formatBytes(this.size)}${this.complete ? "" : " so far"}`;
    else this.info.textContent = `Showing ${formatBytes(shown)} of ${formatBytes(this.size)}`;
    this.info.dataset.testid = this.size === 0 ? "dt-log-empty" : "dt-log-info";
    this.noteSystemOnly();
  }

  /** A log of system lines only looks empty while they are hidden: say so, not a blank box. */
  private noteSystemOnly(): void {
    this.log.querySelector(":scope > .dt-log-sysonly")?.remove();
    if (this.system.checked || !this.lines.length || this.start > 0) return;
    const sys = this.lines.filter((l) => l.el.classList.contains("dt-sys")).length;
    if (sys < this.lines.length) return;
    const text = `No output${this.complete ? "" : " yet"}: only ${plural(sys, "system line")} of the engine, hidden (tick “Show system lines” to see them).`;
    this.log.prepend(h("div", { class: "dt-note dt-log-sysonly", testid: "dt-log-only-system", text }));
  }

  private renderLines(text: string, offset: number, parser: AnsiParser, sink: Line[] = this.lines): DocumentFragment {
    const frag = document.createDocumentFragment();
    if (!text) return frag;
    const parts = text.split("\n");
    if (parts[parts.length - 1] === "") parts.pop();
    let at = offset;
    for (const raw of parts) {
      const el = h("div", { class: "dt-line" });
      if (isSystemLine(raw)) el.classList.add("dt-sys");
      parser.render(raw, el);
      frag.appendChild(el);
      sink.push({ offset: at, el, raw });
      at += utf8Length(raw) + 1;
    }
    return frag;
  }

  private async loadOlder(): Promise<void> {
    if (this.held) {
      this.prepend(this.held.text, this.held.offset);
      return;
    }
    if (this.start <= 0) return;
    const from = Math.max(0, this.start - TAIL_BYTES);
    this.older.disabled = true;
    try {
      const chunk = await this.ctx.api.request("read-log", this.payload({ offset: from, limit: this.start - from }));
      let text = chunk.text;
      if (chunk.next_offset > this.start) {
        const bytes = new TextEncoder().encode(text).slice(0, Math.max(0, this.start - chunk.offset));
        text = new TextDecoder().decode(bytes);
      }
      this.size = Math.max(chunk.size, this.size);
      this.prepend(text, chunk.offset);
    } catch (err) {
      const box = errorBox("Could not load older lines", err, undefined, "dt-log-error");
      if (box) setChildren(this.status, box);
    } finally {
      this.older.disabled = false;
    }
  }

  private append(chunk: LogChunk): void {
    if (chunk.text) this.log.appendChild(this.renderLines(chunk.text, chunk.offset, this.parser));
    this.end = Math.max(this.end, chunk.next_offset);
    this.track(chunk);
    if (this.following && chunk.text) this.scrollToEnd();
  }

  /** Append from the pushed tail what lies after the lines shown (whole lines only while the task runs). */
  private async fromTail(): Promise<void> {
    if (!this.loaded || this.d.disposed) return;
    let chunk: LogChunk;
    try {
      chunk = await this.ctx.api.request("read-log", this.tailPayload());
    } catch {
      return;
    }
    if (this.d.disposed || !this.tailing) {
      if (!this.d.disposed) this.track({ ...chunk, size: Math.max(chunk.size, this.size) });
      return;
    }
    if (chunk.offset > this.end) {
      // more was written since than the tail holds: show the tail (older lines stay a click away)
      this.replace(wholeLines(chunk));
      if (this.following) this.scrollToEnd();
      return;
    }
    const bytes = new TextEncoder().encode(chunk.text).slice(this.end - chunk.offset);
    this.append(wholeLines({ ...chunk, offset: this.end, text: new TextDecoder().decode(bytes) }));
  }

  private async loadNewer(): Promise<void> {
    this.newer.disabled = true;
    try {
      const chunk = await this.ctx.api.request("read-log", this.payload({ offset: this.end, limit: TAIL_BYTES }));
      this.append(chunk);
      this.tailing = this.end >= this.size;
      this.track(chunk);
    } catch (err) {
      const box = errorBox("Could not load newer lines", err, undefined, "dt-log-error");
      if (box) setChildren(this.status, box);
    } finally {
      this.newer.disabled = false;
    }
  }

  /** While the task runs, fetch what was written since the last read (from the pushed tail when there is one). */
  private async poll(): Promise<void> {
    if (!this.loaded || this.complete || this.polling || !this.tailing) return;
    if (this.ctx.api.cached("read-log", this.tailPayload())) {
      await this.fromTail();
      return;
    }
    this.polling = true;
    try {
      const chunk = await this.ctx.api.request("read-log", this.payload({ offset: this.end }));
      if (!this.d.disposed) this.append(chunk);
    } catch {
      // a failed poll is retried on the next tick
    } finally {
      this.polling = false;
    }
  }

  private scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }

  private async search(step: number): Promise<void> {
    const pattern = this.query.value;
    if (!pattern) return;
    const key = `${this.regex.checked ? "re" : "tx"}:${pattern}`;
    if (key !== this.matchesFor) {
      const signal = this.searchLatest.next();
      this.matchCount.textContent = "searching…";
      try {
        const res = await this.ctx.api.request(
          "search-log",
          { run_id: this.runId, task_id: this.taskId, stream: this.stream, pattern, regex: this.regex.checked },
          { signal },
        );
        this.matches = res.matches;
        this.matchesFor = key;
        this.current = -1;
        this.renderMatches(res.truncated);
      } catch (err) {
        if (signal.aborted) return;
        this.matchCount.textContent = `search failed: ${errorText(err)}`;
        return;
      }
    }
    if (!this.matches.length) return;
    const n = this.matches.length;
    await this.jump(this.current < 0 ? (step > 0 ? 0 : n - 1) : (this.current + step + n) % n);
  }

  private renderMatches(truncated: boolean): void {
    const n = this.matches.length;
    this.matchCount.textContent = n ? `${formatCount(n)}${truncated ? "+" : ""} matches` : "no match";
    this.matchList.hidden = n === 0;
    setChildren(
      this.matchList,
      ...this.matches.map((m, i) => {
        const item = h(
          "button",
          { class: "dt-match-item", testid: "dt-log-match", attrs: { type: "button" } },
          h("span", { class: "dt-lineno", text: String(m.line + 1) }),
          stripAnsi(m.text),
        );
        item.addEventListener("click", () => void this.jump(i));
        return item;
      }),
    );
  }

  /** Show match `i`: in the loaded window, or load the range around it. */
  private async jump(i: number): Promise<void> {
    const m = this.matches[i];
    if (!m) return;
    this.current = i;
    this.matchList.querySelectorAll(".dt-match-item").forEach((el, k) => el.setAttribute("aria-current", String(k === i)));
    this.matchCount.textContent = `${i + 1} of ${formatCount(this.matches.length)} matches`;
    if (m.offset < this.start || m.offset >= this.end) {
      try {
        const from = Math.max(0, m.offset - TAIL_BYTES / 4);
        const chunk = await this.ctx.api.request("read-log", this.payload({ offset: from, limit: TAIL_BYTES / 2 }));
        this.tailing = chunk.next_offset >= chunk.size;
        this.replace(chunk);
        if (!this.tailing) this.setFollowing(false, false);
      } catch (err) {
        const box = errorBox("Could not load that part of the log", err, undefined, "dt-log-error");
        if (box) setChildren(this.status, box);
        return;
      }
    }
    let line: Line | undefined;
    for (const l of this.lines) {
      if (l.offset > m.offset) break;
      line = l;
    }
    if (!line) return;
    for (const el of this.log.querySelectorAll(".dt-hit")) el.classList.remove("dt-hit");
    line.el.classList.add("dt-hit");
    if (line.el.classList.contains("dt-sys") && !this.system.checked) {
      this.system.checked = true;
      this.log.classList.remove("dt-hide-sys");
    }
    line.el.scrollIntoView?.({ block: "center" });
  }

  private async copy(): Promise<void> {
    const showSys = this.system.checked;
    const text = this.lines
      .filter((l) => showSys || !isSystemLine(l.raw))
      .map((l) => stripAnsi(l.raw))
      .join("\n");
    const ok = await copyText(text);
    this.copyStatus.textContent = ok ? "Copied" : "Could not copy: select the text and press Ctrl+C";
  }

  dispose(): void {
    this.d.dispose();
  }
}
