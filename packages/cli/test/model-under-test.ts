// Which model the model-dependent tests use: the shipped one in models/, or another folder of the
// same layout named by FCCF_MODELS_DIR (for checking a freshly exported model before shipping it).
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultCardPath, MODELS_DIR } from "../src/model-files.js";

export const modelsDir = resolve(process.env.FCCF_MODELS_DIR ?? MODELS_DIR);

export async function cardUnderTest(): Promise<string> {
  if (!process.env.FCCF_MODELS_DIR) return defaultCardPath();
  const name = readdirSync(modelsDir).find((n) => n.endsWith(".json"));
  if (!name) throw new Error(`no model card in ${modelsDir}`);
  return join(modelsDir, name);
}
