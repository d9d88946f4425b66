// `pnpm conformance <suite> <dir>`: runs every case file of a fixture folder through fccf's own code.
// Each suite lives in its package (src/conformance.ts exporting `runConformance(dir, log)`), so the
// logic is testable and usable without this script.
import { resolve } from "node:path";

const suites: Record<
  string,
  () => Promise<{
    runConformance: (dir: string, log: (line: string) => void) => Promise<{ passed: number; failed: number }>;
  }>
> = {
  samplers: () => import("../packages/samplers/src/conformance.ts"),
  metrics: () => import("../packages/metrics/src/conformance.ts"),
};

const [suite, dir] = process.argv.slice(2);
if (!suite || !dir || !(suite in suites)) {
  console.error(`usage: pnpm conformance <${Object.keys(suites).join("|")}> <fixture-dir>`);
  process.exit(2);
}
try {
  const { runConformance } = await suites[suite]!();
  const { failed } = await runConformance(resolve(dir), (line) => console.log(line));
  process.exit(failed > 0 ? 1 : 0);
} catch (err) {
  console.error(`conformance ${suite}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
