/**
 * A small OData $filter evaluator for the emulator: comparisons (eq ne gt ge lt le), and/or/not,
 * parentheses, startswith(), and lambda any(). Enough for the forms the connectors and Graph's docs
 * use; anything else is a 400 'Invalid filter clause', as Graph answers.
 */
export class FilterError extends Error {}

type Node =
  | { k: 'cmp'; op: string; left: Node; right: Node }
  | { k: 'and' | 'or'; a: Node; b: Node }
  | { k: 'not'; a: Node }
  | { k: 'path'; parts: string[] }
  | { k: 'lit'; v: string | number | boolean | null | Date }
  | { k: 'any'; path: string[]; v: string; body: Node }
  | { k: 'fn'; name: string; args: Node[] };

const TOKEN = /\s*(\(|\)|,|'(?:[^']|'')*'|\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})|-?\d+(?:\.\d+)?|[A-Za-z_$][A-Za-z0-9_$./]*(?::)?)/y;

function tokenize(s: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let i = 0;
  while (i < s.length) {
    if (/^\s+$/.test(s.slice(i))) break;
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(s);
    if (!m) throw new FilterError(`Invalid filter clause: syntax error at position ${i} in '${s}'`);
    out.push(m[1]);
    i = TOKEN.lastIndex;
  }
  return out;
}

export function parseFilter(s: string): Node {
  const t = tokenize(s);
  let p = 0;
  const peek = () => t[p];
  const next = () => t[p++];
  const expect = (x: string) => { if (next() !== x) throw new FilterError(`Invalid filter clause: expected '${x}'`); };

  function orExpr(): Node {
    let a = andExpr();
    while (peek()?.toLowerCase() === 'or') { next(); a = { k: 'or', a, b: andExpr() }; }
    return a;
  }
  function andExpr(): Node {
    let a = unary();
    while (peek()?.toLowerCase() === 'and') { next(); a = { k: 'and', a, b: unary() }; }
    return a;
  }
  function unary(): Node {
    if (peek()?.toLowerCase() === 'not') { next(); return { k: 'not', a: unary() }; }
    const left = primary();
    const op = peek()?.toLowerCase();
    if (op && ['eq', 'ne', 'gt', 'ge', 'lt', 'le'].includes(op)) { next(); return { k: 'cmp', op, left, right: primary() }; }
    return left;
  }
  function primary(): Node {
    const tok = next();
    if (tok === undefined) throw new FilterError('Invalid filter clause: unexpected end');
    if (tok === '(') { const e = orExpr(); expect(')'); return e; }
    if (tok.startsWith("'")) return { k: 'lit', v: tok.slice(1, -1).replace(/''/g, "'") };
    if (/^\d{4}-\d{2}-\d{2}T/.test(tok)) {
      const d = new Date(tok);
      if (Number.isNaN(d.getTime())) throw new FilterError(`Invalid filter clause: bad date ${tok}`);
      return { k: 'lit', v: d };
    }
    if (/^-?\d/.test(tok)) return { k: 'lit', v: Number(tok) };
    if (tok === 'true' || tok === 'false') return { k: 'lit', v: tok === 'true' };
    if (tok === 'null') return { k: 'lit', v: null };
    if (/\/any$/.test(tok) && peek() === '(') {
      next();
      const v = next().replace(/:$/, '');
      const body = orExpr();
      expect(')');
      return { k: 'any', path: tok.slice(0, -4).split('/'), v, body };
    }
    if (peek() === '(' && /^[a-z]+$/i.test(tok)) {
      next();
      const args: Node[] = [orExpr()];
      while (peek() === ',') { next(); args.push(orExpr()); }
      expect(')');
      return { k: 'fn', name: tok.toLowerCase(), args };
    }
    return { k: 'path', parts: tok.split('/') };
  }
  const n = orExpr();
  if (p !== t.length) throw new FilterError(`Invalid filter clause: unexpected '${t[p]}'`);
  return n;
}

type Scope = Record<string, unknown>;

function resolve(parts: string[], item: unknown, scope: Scope): unknown {
  let cur: unknown = parts[0] in scope ? scope[parts[0]] : (item as Record<string, unknown>)?.[parts[0]];
  for (const part of parts.slice(1)) cur = (cur as Record<string, unknown> | undefined)?.[part];
  return cur;
}

function value(n: Node, item: unknown, scope: Scope): unknown {
  if (n.k === 'lit') return n.v;
  if (n.k === 'path') return resolve(n.parts, item, scope);
  return evaluate(n, item, scope);
}

function compare(op: string, a: unknown, b: unknown): boolean {
  let x: unknown = a;
  let y: unknown = b;
  if (y instanceof Date) { x = typeof a === 'string' ? new Date(a).getTime() : NaN; y = y.getTime(); }
  else if (typeof x === 'string' && typeof y === 'string') { x = x.toLowerCase(); y = y.toLowerCase(); }
  switch (op) {
    case 'eq': return x === y;
    case 'ne': return x !== y;
    case 'gt': return (x as number) > (y as number);
    case 'ge': return (x as number) >= (y as number);
    case 'lt': return (x as number) < (y as number);
    default: return (x as number) <= (y as number);
  }
}

export function evaluate(n: Node, item: unknown, scope: Scope = {}): boolean {
  switch (n.k) {
    case 'and': return evaluate(n.a, item, scope) && evaluate(n.b, item, scope);
    case 'or': return evaluate(n.a, item, scope) || evaluate(n.b, item, scope);
    case 'not': return !evaluate(n.a, item, scope);
    case 'cmp': return compare(n.op, value(n.left, item, scope), value(n.right, item, scope));
    case 'any': {
      const arr = resolve(n.path, item, scope);
      return Array.isArray(arr) && arr.some((el) => evaluate(n.body, item, { ...scope, [n.v]: el }));
    }
    case 'fn': {
      if (n.name === 'startswith' && n.args.length === 2) {
        const a = value(n.args[0], item, scope);
        const b = value(n.args[1], item, scope);
        return typeof a === 'string' && typeof b === 'string' && a.toLowerCase().startsWith(b.toLowerCase());
      }
      throw new FilterError(`Invalid filter clause: unsupported function ${n.name}`);
    }
    default: return Boolean(value(n, item, scope));
  }
}

/** The property paths a filter mentions (the emulator refuses ones the real endpoint cannot filter on). */
export function filterPaths(n: Node, out: string[] = []): string[] {
  switch (n.k) {
    case 'and': case 'or': filterPaths(n.a, out); filterPaths(n.b, out); break;
    case 'not': filterPaths(n.a, out); break;
    case 'cmp': filterPaths(n.left, out); filterPaths(n.right, out); break;
    case 'path': out.push(n.parts.join('/')); break;
    case 'any': out.push(`${n.path.join('/')}/any`); break;
    case 'fn': n.args.forEach((a) => filterPaths(a, out)); break;
  }
  return out;
}
