export * from "./colour.js";
export * from "./fuse.js";
export * from "./image.js";
export * from "./noise.js";
export * from "./padding.js";
export * from "./plan.js";
