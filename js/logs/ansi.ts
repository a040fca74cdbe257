// ANSI-coloured log text to DOM text spans, through anser's JSON output. Never HTML: every character
// of the log ends up in a text node; OSC sequences (titles, hyperlinks) are dropped, so no link is made.
import Anser from "anser";

export interface AnsiStyle {
  classes: string[];
  color: string | null;
  background: string | null;
}

export interface Segment {
  text: string;
  style: AnsiStyle | null;
}

// OSC (ESC ] ... BEL | ESC \ ), DCS/SOS/PM/APC strings, and two-byte escapes other than CSI.
const OSC_LIKE = /\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|$)/g;
const CHARSET = /\x1b[()*+\-./][\s\S]?/g;
const SHORT_ESC = /\x1b(?![[\]PX^_])[\s\S]?/g;
// C0 controls other than tab, DEL, and C1 controls that could hide or reorder text.
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
const SGR_CHUNK = /^[\d;]*m/;

const XTERM_LEVELS = [0, 95, 135, 175, 215, 255];

/** The xterm 256-colour palette entry `n` (16-255) as an rgb() colour. */
export function paletteColour(n: number): string {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v}, ${v}, ${v})`;
  }
  const i = n - 16;
  return `rgb(${XTERM_LEVELS[Math.floor(i / 36) % 6]}, ${XTERM_LEVELS[Math.floor(i / 6) % 6]}, ${XTERM_LEVELS[i % 6]})`;
}

function rgb(triplet: string | null): string | null {
  if (!triplet) return null;
  const parts = triplet.split(",").map((p) => Number.parseInt(p.trim(), 10));
  if (parts.length !== 3 || parts.some((p) => !(p >= 0 && p <= 255))) return null;
  return `rgb(${parts[0]}, ${parts[1]}, ${parts[2]})`;
}

function colour(value: string | null, truecolor: string | null, layer: "fg" | "bg", style: AnsiStyle): void {
  if (!value) return;
  const set = (c: string | null): void => {
    if (layer === "fg") style.color = c;
    else style.background = c;
  };
  if (value === "ansi-truecolor") set(rgb(truecolor));
  else if (value.startsWith("ansi-palette-")) {
    const n = Number.parseInt(value.slice(13), 10);
    if (n >= 16 && n <= 255) set(paletteColour(n));
  } else if (/^ansi-(bright-)?[a-z]+$/.test(value)) style.classes.push(`dt-${value}-${layer}`);
}

/** Remove every escape sequence and control character, leaving the visible text. */
export function stripAnsi(text: string): string {
  return Anser.ansiToText(text.replace(OSC_LIKE, "").replace(CHARSET, "").replace(SHORT_ESC, ""))
    .replace(/\x1b/g, "")
    .replace(CONTROLS, "");
}

/** Parses lines of one stream; colours carry over from line to line like in a terminal. */
export class AnsiParser {
  private readonly anser = new Anser();
  private style: AnsiStyle | null = null;

  /** Segments of one line (no newline inside). A carriage return keeps only what follows it. */
  segments(line: string): Segment[] {
    let text = line.endsWith("\r") ? line.slice(0, -1) : line;
    const cr = text.lastIndexOf("\r");
    if (cr >= 0) text = text.slice(cr + 1);
    text = text.replace(OSC_LIKE, "").replace(CHARSET, "").replace(SHORT_ESC, "");
    const chunks = text.split("\x1b[");
    const out: Segment[] = [];
    const push = (t: string): void => {
      const clean = t.replace(/\x1b/g, "").replace(CONTROLS, "");
      if (!clean) return;
      const last = out[out.length - 1];
      if (last && last.style === this.style) last.text += clean;
      else out.push({ text: clean, style: this.style });
    };
    push(chunks[0]);
    for (let i = 1; i < chunks.length; i++) {
      const chunk = chunks[i];
      const entry = this.anser.processChunkJson(chunk, { json: true, use_classes: true }, true);
      if (SGR_CHUNK.test(chunk)) this.style = entry.was_processed ? this.toStyle(entry) : null;
      push(entry.content);
    }
    return out;
  }

  private toStyle(entry: Anser.AnserJsonEntry): AnsiStyle | null {
    const style: AnsiStyle = { classes: [], color: null, background: null };
    colour(entry.fg, entry.fg_truecolor, "fg", style);
    colour(entry.bg, entry.bg_truecolor, "bg", style);
    for (const d of new Set(entry.decorations)) {
      if (d !== "blink") style.classes.push(`dt-ansi-${d}`);
    }
    return style.classes.length || style.color || style.background ? style : null;
  }

  /** Append the line's text to `into`: plain text nodes, and <span>s for styled runs. */
  render(line: string, into: Node): void {
    for (const seg of this.segments(line)) into.appendChild(segmentNode(seg));
  }
}

export function segmentNode(seg: Segment): Node {
  if (!seg.style) return document.createTextNode(seg.text);
  const span = document.createElement("span");
  if (seg.style.classes.length) span.className = seg.style.classes.join(" ");
  if (seg.style.color) span.style.color = seg.style.color;
  if (seg.style.background) span.style.backgroundColor = seg.style.background;
  span.textContent = seg.text;
  return span;
}

/** Render multi-line text into a fragment of text nodes and spans (newlines kept as text). */
export function renderAnsi(text: string): DocumentFragment {
  const parser = new AnsiParser();
  const frag = document.createDocumentFragment();
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    parser.render(line, frag);
    if (i < lines.length - 1) frag.appendChild(document.createTextNode("\n"));
  });
  return frag;
}
