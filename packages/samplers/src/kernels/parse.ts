// The elementwise kernel language: the body of a sampler's update loop written as the JavaScript
// expressions it evaluates per element, so a compiled kernel evaluates exactly the same double
// expressions (same tree, same order of operations) as the loop it replaces.
//
//   program := (name '=' expr ';')*
//   expr    := term (('+' | '-') term)*        left-associative, as in JavaScript
//   term    := unary (('*' | '/') unary)*
//   unary   := '-' unary | primary
//   primary := number | name | 'abs' '(' expr ')' | ('min' | 'max') '(' expr ',' expr ')' | '(' expr ')'
//
// min(a, b) is `b < a ? b : a` and max(a, b) is `a < b ? b : a` (so clamp(e, lo, hi) is
// min(max(e, lo), hi), exact, and NaN in the first argument passes through).
// A name is an array (read: its element j; assigned: stored to element j, rounded to the array's
// element type), a scalar parameter, or a local (a double assigned before use).

export type Node =
  | { k: "num"; v: number }
  | { k: "array"; i: number }
  | { k: "scalar"; i: number }
  | { k: "local"; i: number }
  | { k: "bin"; op: "+" | "-" | "*" | "/"; a: Node; b: Node }
  | { k: "neg"; a: Node }
  | { k: "abs"; a: Node }
  | { k: "min" | "max"; a: Node; b: Node };

export type Statement = { k: "store"; array: number; e: Node } | { k: "let"; local: number; e: Node };

export interface Program {
  arrays: readonly string[];
  scalars: readonly string[];
  locals: string[];
  statements: Statement[];
  /** Arrays read before (or without) being written, per array index. */
  reads: boolean[];
  /** Arrays written, per array index. */
  writes: boolean[];
}

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:e[+-]?\d+)?)|([A-Za-z_]\w*)|(.))/y;

function tokenize(src: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < src.length) {
    const m = TOKEN.exec(src);
    if (!m) break;
    const t = m[1] ?? m[2] ?? m[3];
    if (t !== undefined) out.push(t);
  }
  return out;
}

/** Parses a kernel body over the named arrays and scalars; throws SyntaxError on malformed input. */
export function parseKernel(arrays: readonly string[], scalars: readonly string[], src: string): Program {
  const tokens = tokenize(src);
  let pos = 0;
  const locals: string[] = [];
  const statements: Statement[] = [];
  const reads = arrays.map(() => false);
  const writes = arrays.map(() => false);
  const fail = (what: string): never => {
    throw new SyntaxError(`kernel: ${what} at token ${pos} ('${tokens[pos] ?? "end"}') of: ${src.trim()}`);
  };
  const peek = () => tokens[pos];
  const expect = (t: string) => {
    if (tokens[pos] !== t) fail(`expected '${t}'`);
    pos++;
  };

  const primary = (): Node => {
    const t = tokens[pos++];
    if (t === undefined) return fail("unexpected end");
    if (t === "(") {
      const e = expr();
      expect(")");
      return e;
    }
    if (/^\d/.test(t)) return { k: "num", v: Number(t) };
    if (t === "abs") {
      expect("(");
      const e = expr();
      expect(")");
      return { k: "abs", a: e };
    }
    if (t === "min" || t === "max") {
      expect("(");
      const a = expr();
      expect(",");
      const b = expr();
      expect(")");
      return { k: t, a, b };
    }
    const a = arrays.indexOf(t);
    if (a >= 0) {
      if (!writes[a]) reads[a] = true;
      return { k: "array", i: a };
    }
    const s = scalars.indexOf(t);
    if (s >= 0) return { k: "scalar", i: s };
    const l = locals.indexOf(t);
    if (l >= 0) return { k: "local", i: l };
    pos--;
    return fail(`unknown name '${t}'`);
  };
  const unary = (): Node => {
    if (peek() === "-") {
      pos++;
      return { k: "neg", a: unary() };
    }
    return primary();
  };
  const term = (): Node => {
    let e = unary();
    while (peek() === "*" || peek() === "/") {
      const op = tokens[pos++] as "*" | "/";
      e = { k: "bin", op, a: e, b: unary() };
    }
    return e;
  };
  const expr = (): Node => {
    let e = term();
    while (peek() === "+" || peek() === "-") {
      const op = tokens[pos++] as "+" | "-";
      e = { k: "bin", op, a: e, b: term() };
    }
    return e;
  };

  while (pos < tokens.length) {
    const name = tokens[pos++]!;
    if (!/^[A-Za-z_]/.test(name)) fail("expected a name");
    expect("=");
    const e = expr();
    expect(";");
    const a = arrays.indexOf(name);
    if (a >= 0) {
      statements.push({ k: "store", array: a, e });
      writes[a] = true;
      continue;
    }
    if (scalars.includes(name)) fail(`cannot assign the scalar '${name}'`);
    let l = locals.indexOf(name);
    if (l < 0) l = locals.push(name) - 1;
    statements.push({ k: "let", local: l, e });
  }
  return { arrays, scalars, locals, statements, reads, writes };
}
