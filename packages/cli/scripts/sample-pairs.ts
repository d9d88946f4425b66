// The four sample pairs the figure scripts show (task, A and B under samples/; PROVENANCE.md there).
import { resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../../..");

export const FIGURE_PAIRS = [
  ["VI-IR", "VI-IR/a-vi.png", "VI-IR/b-ir.png"],
  ["MED-PET", "MED-PET/a-MRI.png", "MED-PET/b-PET.png"],
  ["MEF", "MEF/a-under.png", "MEF/b-over.png"],
  ["MFF", "MFF/a-source_1.png", "MFF/b-source_2.png"],
] as const;
