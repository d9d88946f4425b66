export * from "./raster.js";
