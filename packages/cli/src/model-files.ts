import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FusionEngine, type ModelCard, OrtBackend, parseCard } from "@fccf/core";
import * as ort from "onnxruntime-node";
import { UserError } from "./user-error.js";

/** The repository's models/ folder, where the shipped model lives. */
export const MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../models");

/** The shipped model's card: the one card in models/ (cards are the .json files with a `contract`). */
export async function defaultCardPath(): Promise<string> {
  let names: string[];
  try {
    names = (await readdir(MODELS_DIR)).filter((n) => n.endsWith(".json"));
  } catch {
    throw new UserError(`no models folder at ${MODELS_DIR}; pass --model <card.json>`);
  }
  const cards: string[] = [];
  for (const n of names) {
    const path = join(MODELS_DIR, n);
    try {
      if ((JSON.parse(await readFile(path, "utf8")) as { contract?: unknown }).contract) cards.push(path);
    } catch {
      // not a card
    }
  }
  if (cards.length === 0) throw new UserError(`no model card in ${MODELS_DIR}; pass --model <card.json>`);
  if (cards.length > 1)
    throw new UserError(
      `several model cards in ${MODELS_DIR} (${cards.join(", ")}); choose one with --model`,
    );
  return cards[0]!;
}

/** Reads and validates a card; errors name the file. */
export async function readCard(path: string): Promise<ModelCard> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UserError(
      `${path}: cannot read the model card (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: the model card is not valid JSON (${(err as Error).message})`);
  }
  try {
    return parseCard(json, path);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

/** Loads a card's graphs (next to the card) into onnxruntime-node. */
export async function loadEngine(cardPath: string, threads?: number): Promise<FusionEngine> {
  const card = await readCard(cardPath);
  const backend = new OrtBackend(ort, { intraOpNumThreads: threads ?? 0, graphOptimizationLevel: "all" });
  return FusionEngine.load(card, backend, async (file) => {
    const path = join(dirname(cardPath), file);
    try {
      return new Uint8Array(await readFile(path));
    } catch {
      throw new UserError(`${path}: the model graph named by ${cardPath} is missing`);
    }
  });
}
