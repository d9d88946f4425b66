/**
 * A progress bar on stderr. On a terminal it redraws one line; otherwise (CI, pipes) it prints a
 * line at each 10 % so logs stay short. Silent when `quiet`.
 */
export class ProgressBar {
  private lastDecile = -1;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly quiet = false,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Reports `done` of `total` units, with an optional note (e.g. the current stage). */
  update(done: number, note = ""): void {
    if (this.quiet || this.total <= 0) return;
    const frac = Math.min(1, Math.max(0, done / this.total));
    if (this.tty) {
      const width = 28;
      const filled = Math.round(frac * width);
      const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
      this.stream.write(`\r${this.label} ${bar} ${done}/${this.total} ${note}`.padEnd(80));
      if (done >= this.total) this.stream.write("\n");
      return;
    }
    const decile = Math.floor(frac * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${this.label}: ${done}/${this.total}${note ? ` (${note})` : ""}\n`);
    }
  }
}
