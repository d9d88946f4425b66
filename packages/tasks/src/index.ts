export * from "./image.js";
export * from "./colour.js";
export * from "./padding.js";
export * from "./plan.js";
export * from "./fuse.js";
