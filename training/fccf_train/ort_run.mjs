// Runs an ONNX graph in onnxruntime-node for the Python export checks (python onnxruntime is not
// available here). onnxruntime-node is resolved from packages/cli, where the workspace installs it.
//
//   node ort_run.mjs run   <model.onnx> <job.json>   inputs/outputs described in job.json (raw .bin files)
//   node ort_run.mjs bench <model.onnx> <job.json>   same inputs, prints {"ms": median ms per run}
//
// job.json: {"inputs": {name: {"dims": [...], "type": "float32"|"int64", "file": "x.bin"}},
//            "outputs_dir": "...", "threads": 2, "runs": 10}
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, "../../packages/cli/package.json"));
const ort = require("onnxruntime-node");

const [mode, modelPath, jobPath] = process.argv.slice(2);
if (!mode || !modelPath || !jobPath) {
  console.error("usage: node ort_run.mjs run|bench <model.onnx> <job.json>");
  process.exit(2);
}
const job = JSON.parse(readFileSync(jobPath, "utf8"));
const base = dirname(resolve(jobPath));
const threads = job.threads ?? 2;
const session = await ort.InferenceSession.create(modelPath, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
});
const feeds = {};
for (const [name, spec] of Object.entries(job.inputs)) {
  const buf = readFileSync(join(base, spec.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data = spec.type === "int64" ? new BigInt64Array(ab) : new Float32Array(ab);
  feeds[name] = new ort.Tensor(spec.type, data, spec.dims);
}
if (mode === "run") {
  const out = await session.run(feeds);
  const meta = {};
  for (const [name, t] of Object.entries(out)) {
    const file = `${name}.out.bin`;
    writeFileSync(join(base, file), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    meta[name] = { dims: t.dims, type: t.type, file };
  }
  writeFileSync(join(base, "outputs.json"), JSON.stringify(meta));
  console.log(JSON.stringify({ outputs: Object.keys(meta) }));
} else if (mode === "bench") {
  const runs = job.runs ?? 10;
  for (let i = 0; i < 2; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ ms: times[Math.floor(times.length / 2)], min: times[0], runs }));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
