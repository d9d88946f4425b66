import { type ParseArgsConfig, parseArgs } from "node:util";
import { UserError } from "./user-error.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses a command's arguments (options plus positionals); a malformed command line becomes a
 * UserError that ends with the command's help.
 */
export function parseCommandArgs<const O extends Options>(
  args: string[],
  options: O,
  help: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError(`${(err as Error).message}\n\n${help}`);
  }
}
