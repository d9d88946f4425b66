import type { OptionSpecs } from "./options.js";
import type { SamplerPlugin } from "./sampler.js";
import { Sampler } from "./sampler.js";
import type { NoiseSchedule } from "./schedule.js";

function key(name: string): string {
  return name.trim().toLowerCase();
}

/**
 * Sampler plugins by name and alias (case-insensitive). Built-ins register themselves into
 * {@link samplers} when `@fccf/samplers` is imported; third-party packages call `register` the same way.
 *
 * @example
 * ```ts
 * import { samplers } from "@fccf/core";
 * import "@fccf/samplers";
 * samplers.get("DDIM").name; // "ddim"
 * samplers.list().map((p) => p.name);
 * ```
 */
export class SamplerRegistry {
  private readonly byKey = new Map<string, SamplerPlugin<OptionSpecs>>();
  private readonly plugins: SamplerPlugin<OptionSpecs>[] = [];

  /** Adds a plugin. Its name and aliases must not be taken (re-registering the same object is a no-op). */
  register<S extends OptionSpecs>(plugin: SamplerPlugin<S>): void {
    const p = plugin as unknown as SamplerPlugin<OptionSpecs>;
    if (this.plugins.includes(p)) return;
    if (!plugin.name || typeof plugin.plan !== "function" || typeof plugin.start !== "function") {
      throw new TypeError("a sampler plugin needs a name, plan() and start()");
    }
    const names = [plugin.name, ...plugin.aliases];
    for (const n of names) {
      const owner = this.byKey.get(key(n));
      if (owner) throw new RangeError(`sampler name '${n}' is already registered by '${owner.name}'`);
    }
    for (const n of names) this.byKey.set(key(n), p);
    this.plugins.push(p);
  }

  /** True when a name or alias is registered. */
  has(name: string): boolean {
    return this.byKey.has(key(name));
  }

  /** The plugin registered under a name or alias; throws listing the known names otherwise. */
  get(name: string): SamplerPlugin<OptionSpecs> {
    const p = this.byKey.get(key(name));
    if (!p) {
      const known = this.plugins.map((q) => q.name).join(", ") || "none registered";
      throw new RangeError(`unknown sampler '${name}' (known: ${known}; did you import @fccf/samplers?)`);
    }
    return p;
  }

  /** All plugins in registration order. */
  list(): readonly SamplerPlugin<OptionSpecs>[] {
    return [...this.plugins];
  }

  /** Binds a registered sampler to a schedule and a config (validated). */
  create(name: string, schedule: NoiseSchedule, config: Readonly<Record<string, unknown>> = {}): Sampler {
    return new Sampler(this.get(name), schedule, config);
  }
}

/** The process-wide registry the built-in and third-party samplers register into. */
export const samplers = new SamplerRegistry();

/** Shorthand for `samplers.create(name, schedule, config)`. */
export function createSampler(
  name: string,
  schedule: NoiseSchedule,
  config: Readonly<Record<string, unknown>> = {},
): Sampler {
  return samplers.create(name, schedule, config);
}
