// The built-in samplers of fccf. Importing this module registers them into the core registry.
import type { OptionSpecs, SamplerPlugin } from "@fccf/core";
import { samplers } from "@fccf/core";
import { ddim } from "./ddim.js";
import { ddpm } from "./ddpm.js";
import { deis } from "./deis.js";
import { dpmSolver, dpmSolverPlusPlus, sdeDpmSolverPlusPlus } from "./dpm-multistep.js";
import { dpmSolverSinglestep } from "./dpm-singlestep.js";
import { euler } from "./euler.js";
import { eulerAncestral } from "./euler-ancestral.js";
import { heun } from "./heun.js";
import { kdpm2 } from "./kdpm2.js";
import { lms } from "./lms.js";
import { pndm } from "./pndm.js";
import { unipc } from "./unipc.js";

export { exactPfOde, fixtureMean, GaussianModel } from "./analytic.js";
export { translateConfig } from "./conformance-config.js";
export { setWasmKernels, wasmKernelsActive } from "./kernels/kernel.js";
export {
  ddim,
  ddpm,
  deis,
  dpmSolver,
  dpmSolverPlusPlus,
  dpmSolverSinglestep,
  euler,
  eulerAncestral,
  heun,
  kdpm2,
  lms,
  pndm,
  sdeDpmSolverPlusPlus,
  unipc,
};

/** The built-in sampler plugins, in registration order. */
export const builtinSamplers: readonly SamplerPlugin<OptionSpecs>[] = [
  ddim,
  ddpm,
  dpmSolverPlusPlus,
  dpmSolver,
  sdeDpmSolverPlusPlus,
  dpmSolverSinglestep,
  deis,
  unipc,
  euler,
  eulerAncestral,
  heun,
  kdpm2,
  lms,
  pndm,
] as unknown as SamplerPlugin<OptionSpecs>[];

for (const plugin of builtinSamplers) samplers.register(plugin);
