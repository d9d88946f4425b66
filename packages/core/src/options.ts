// Declarative sampler options: each option has a default, a parser that rejects bad values, and a
// description used in error messages and `--help` output.

/** One option of a sampler's config. */
export interface OptionSpec<T> {
  readonly default: T;
  /** Human-readable accepted values, e.g. "one of linspace|leading|trailing". */
  readonly accepts: string;
  readonly doc: string;
  /** Returns the validated value, or undefined when `value` is not acceptable. */
  parse(value: unknown): T | undefined;
}

export type OptionSpecs = Record<string, OptionSpec<unknown>>;

/** The config type described by a set of option specs. */
export type ConfigOf<S extends OptionSpecs> = {
  -readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never;
};

/** Option builders. */
export const option = {
  /** One of a fixed set of strings (or other literals). */
  oneOf<const T extends string | number | boolean | null>(
    values: readonly T[],
    dflt: T,
    doc: string,
  ): OptionSpec<T> {
    return {
      default: dflt,
      accepts: `one of ${values.map((v) => String(v)).join("|")}`,
      doc,
      parse: (v) => (values.includes(v as T) ? (v as T) : undefined),
    };
  },
  bool(dflt: boolean, doc: string): OptionSpec<boolean> {
    return {
      default: dflt,
      accepts: "true or false",
      doc,
      parse: (v) => (typeof v === "boolean" ? v : undefined),
    };
  },
  number(
    dflt: number,
    doc: string,
    limits: {
      min?: number;
      max?: number;
      integer?: boolean;
      allowNegInfinity?: boolean;
      allowInfinity?: boolean;
    } = {},
  ): OptionSpec<number> {
    const parts = [limits.integer ? "an integer" : "a number"];
    if (limits.min !== undefined) parts.push(`>= ${limits.min}`);
    if (limits.max !== undefined) parts.push(`<= ${limits.max}`);
    return {
      default: dflt,
      accepts: parts.join(" "),
      doc,
      parse: (v) => {
        if (
          limits.allowNegInfinity &&
          (v === Number.NEGATIVE_INFINITY || v === "-Infinity" || v === "-inf")
        ) {
          return Number.NEGATIVE_INFINITY;
        }
        if (limits.allowInfinity && (v === Number.POSITIVE_INFINITY || v === "Infinity" || v === "inf")) {
          return Number.POSITIVE_INFINITY;
        }
        if (typeof v !== "number" || !Number.isFinite(v)) return undefined;
        if (limits.integer && !Number.isInteger(v)) return undefined;
        if (limits.min !== undefined && v < limits.min) return undefined;
        if (limits.max !== undefined && v > limits.max) return undefined;
        return v;
      },
    };
  },
  /** A list of non-negative integers (e.g. step indices). */
  indexList(dflt: readonly number[], doc: string): OptionSpec<readonly number[]> {
    return {
      default: dflt,
      accepts: "a list of non-negative integers",
      doc,
      parse: (v) =>
        Array.isArray(v) && v.every((e) => Number.isInteger(e) && e >= 0)
          ? (v as readonly number[])
          : undefined,
    };
  },
};

/**
 * Resolves a user config against option specs: fills defaults, rejects unknown keys and invalid
 * values with a message naming the sampler, the option and what it accepts.
 */
export function resolveOptions<S extends OptionSpecs>(
  owner: string,
  specs: S,
  user: Readonly<Record<string, unknown>> = {},
): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(user)) {
    if (!Object.hasOwn(specs, key)) {
      throw new RangeError(
        `unknown option '${key}' for sampler '${owner}' (known options: ${Object.keys(specs).join(", ")})`,
      );
    }
  }
  for (const [key, spec] of Object.entries(specs)) {
    if (!Object.hasOwn(user, key) || user[key] === undefined) {
      out[key] = spec.default;
      continue;
    }
    const parsed = spec.parse(user[key]);
    if (parsed === undefined) {
      throw new RangeError(
        `option '${key}' of sampler '${owner}' must be ${spec.accepts}, got ${JSON.stringify(user[key])}`,
      );
    }
    out[key] = parsed;
  }
  return out as ConfigOf<S>;
}
