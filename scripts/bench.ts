// `pnpm bench <suite>`: prints timing tables. Each suite lives in its package (bench/<suite>.ts).
const suites: Record<string, () => Promise<unknown>> = {
  samplers: () => import("../packages/samplers/bench/samplers.ts"),
  metrics: () => import("../packages/metrics/bench/metrics.ts"),
  model: () => import("../packages/cli/bench/model.ts"),
};

const [suite] = process.argv.slice(2);
if (!suite || !(suite in suites)) {
  console.error(`usage: pnpm bench <${Object.keys(suites).join("|")}>`);
  process.exit(2);
}
await suites[suite]!();
