#!/usr/bin/env node
// Entry of the `fccf` command. Each command is a module in ./commands exporting
// `run(args: string[]): Promise<number>` (the exit code) and a one-line `summary`.
// Errors meant for the user are thrown as UserError and printed without a stack trace.
import { UserError } from "./user-error.js";

interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  fuse: () => import("./commands/fuse.js"),
  sample: () => import("./commands/sample.js"),
  eval: () => import("./commands/eval.js"),
};

function usage(): string {
  const lines = ["usage: fccf <command> [options]", "", "commands:"];
  for (const name of Object.keys(commands)) lines.push(`  ${name}`);
  lines.push("", "Run `fccf <command> --help` for the options of a command.");
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`fccf: unknown command '${name}'.\n\n${usage()}`);
    return 2;
  }
  const command = await load();
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UserError) {
      console.error(`fccf: ${err.message}`);
      process.exitCode = 1;
    } else {
      console.error("fccf: internal error, please report it with the command you ran:");
      console.error(err);
      process.exitCode = 70;
    }
  },
);
