import type { InferenceSession, Tensor as OrtTensor } from "onnxruntime-common";
import type { Tensor, TensorData } from "./tensor.js";

/** Named tensors in and out of a model run. */
export type NamedTensors = Record<string, Tensor<TensorData>>;

/** A loaded model: its input and output names, and a run on named tensors. */
export interface LoadedModel {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: NamedTensors): Promise<NamedTensors>;
  dispose(): Promise<void>;
}

/**
 * Where models run. fccf's engine only talks to this interface, so Node (onnxruntime-node),
 * browsers (onnxruntime-web) and plain functions (tests, analytic models) are interchangeable.
 */
export interface TensorBackend {
  /** Loads a model from bytes (or a path/URL where the backend supports it). */
  load(model: Uint8Array | string): Promise<LoadedModel>;
}

/** The part of an onnxruntime module (`onnxruntime-node` or `onnxruntime-web`) that fccf uses. */
export interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array | string, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  Tensor: new (type: OrtTensor.Type, data: TensorData, dims: readonly number[]) => OrtTensor;
}

/**
 * A {@link TensorBackend} over onnxruntime. The caller passes the ort module, so the same adapter
 * serves onnxruntime-node and onnxruntime-web.
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-node";
 * import { OrtBackend } from "@fccf/core";
 * const backend = new OrtBackend(ort, { intraOpNumThreads: 2 });
 * const model = await backend.load("models/fccf-v1.encoder.onnx");
 * ```
 */
export class OrtBackend implements TensorBackend {
  constructor(
    private readonly ort: OrtModule,
    private readonly options: InferenceSession.SessionOptions = {},
  ) {}

  async load(model: Uint8Array | string): Promise<LoadedModel> {
    const session = await this.ort.InferenceSession.create(model, this.options);
    const ort = this.ort;
    return {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      async run(feeds: NamedTensors): Promise<NamedTensors> {
        const ortFeeds: Record<string, OrtTensor> = {};
        for (const [name, t] of Object.entries(feeds))
          ortFeeds[name] = new ort.Tensor(ortType(t.data), t.data, t.dims);
        const out = await session.run(ortFeeds);
        const result: NamedTensors = {};
        for (const [name, t] of Object.entries(out)) {
          result[name] = { data: t.data as TensorData, dims: [...t.dims] };
        }
        return result;
      },
      dispose: () => session.release(),
    };
  }
}

function ortType(data: TensorData): OrtTensor.Type {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  return "uint8";
}

/** A model written as a JavaScript function of named tensors. */
export type ModelFunction = (feeds: NamedTensors) => NamedTensors | Promise<NamedTensors>;

/**
 * A {@link TensorBackend} whose models are JavaScript functions, registered by name. For tests and
 * analytic models; `load(name)` returns the function registered under `name`.
 *
 * @example
 * ```ts
 * import { FunctionBackend, tensor } from "@fccf/core";
 * const backend = new FunctionBackend({
 *   double: { inputs: ["x"], outputs: ["y"], fn: ({ x }) => ({ y: tensor(x!.data.map((v) => 2 * v), x!.dims) }) },
 * });
 * const model = await backend.load("double");
 * ```
 */
export class FunctionBackend implements TensorBackend {
  constructor(
    private readonly models: Record<
      string,
      { inputs: readonly string[]; outputs: readonly string[]; fn: ModelFunction }
    >,
  ) {}

  async load(model: Uint8Array | string): Promise<LoadedModel> {
    if (typeof model !== "string") throw new TypeError("FunctionBackend loads models by name, not bytes");
    const entry = this.models[model];
    if (!entry) throw new Error(`FunctionBackend has no model named '${model}'`);
    return {
      inputNames: entry.inputs,
      outputNames: entry.outputs,
      async run(feeds: NamedTensors): Promise<NamedTensors> {
        for (const name of entry.inputs) {
          if (!(name in feeds)) throw new Error(`model '${model}' needs input '${name}'`);
        }
        const out = await entry.fn(feeds);
        for (const name of entry.outputs) {
          if (!(name in out)) throw new Error(`model '${model}' did not produce output '${name}'`);
        }
        return out;
      },
      dispose: async () => {},
    };
  }
}
