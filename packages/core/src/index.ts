export * from "./tensor.js";
export * from "./rng.js";
export * from "./backend.js";
export * from "./warp.js";
