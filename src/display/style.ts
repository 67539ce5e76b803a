/** Terminal styles for the flow listing: ANSI codes when colour is on, plain text otherwise. */

/** The styles the listing uses. */
export type StyleName = "bold" | "dim" | "red" | "green" | "yellow" | "blue" | "magenta" | "cyan";

const CODES: Record<StyleName, string> = {
  bold: "1",
  dim: "2",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36",
};

/** Applies styles to text, or nothing when colour is off. */
export class Painter {
  /**
   * `escape` stands for the ESC that opens each code: a listing paints with a marker of its
   * own and turns it into ESC only after escaping everything else in the line.
   */
  constructor(
    readonly colour: boolean,
    private readonly escape = "\x1b",
  ) {}

  paint(text: string, ...styles: (StyleName | undefined)[]): string {
    const codes = styles.filter((s): s is StyleName => s !== undefined).map((s) => CODES[s]);
    if (!this.colour || codes.length === 0 || text === "") return text;
    return `${this.escape}[${codes.join(";")}m${text}${this.escape}[0m`;
  }
}
