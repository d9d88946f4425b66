import { samplers } from "@fccf/core";
import { ddim } from "./ddim.js";
import { ddpm } from "./ddpm.js";
import { dpmSolver, dpmSolverPlusPlus, sdeDpmSolverPlusPlus } from "./dpm-multistep.js";

export { GaussianModel, exactPfOde, fixtureMean } from "./analytic.js";
export { ddim, ddpm, dpmSolver, dpmSolverPlusPlus, sdeDpmSolverPlusPlus };

/** The built-in sampler plugins, in registration order. */
export const builtinSamplers = [ddim, ddpm, dpmSolverPlusPlus, dpmSolver, sdeDpmSolverPlusPlus] as const;

for (const plugin of builtinSamplers) samplers.register(plugin);
