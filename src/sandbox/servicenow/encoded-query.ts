/**
 * The emulator's reading of a ServiceNow encoded query (`sysparm_query`): conditions joined by `^`
 * (AND), `^OR` (OR with the previous condition), `^NQ` (a new OR'ed query), `ORDERBY` / `ORDERBYDESC`.
 * Like a stock instance (glide.invalid_query.returns_no_rows = false), a condition on a field the
 * table does not have is silently dropped, which widens the query: connectors must check results.
 */

export type Row = Record<string, string>;

type Operator = '=' | '!=' | 'LIKE' | 'NOT LIKE' | 'STARTSWITH' | 'ENDSWITH' | 'IN' | 'NOT IN' | 'ISEMPTY' | 'ISNOTEMPTY';
// Longest first, so that `!=` wins over `=` and `NOT LIKE` over `LIKE`.
const OPERATORS: Operator[] = ['ISNOTEMPTY', 'STARTSWITH', 'ISEMPTY', 'ENDSWITH', 'NOT LIKE', 'NOT IN', 'LIKE', '!=', 'IN', '='];

interface Condition { field: string; op: Operator; value: string }
export interface ParsedQuery {
  /** OR of groups; each group is an AND of clauses; each clause is an OR of conditions */
  groups: Condition[][][];
  orderBy: Array<{ field: string; desc: boolean }>;
}

function parseCondition(text: string): Condition | undefined {
  const m = /^([a-z_][a-z0-9_.]*)(.*)$/s.exec(text);
  if (!m) return undefined;
  const [, field, rest] = m;
  const op = OPERATORS.find((o) => rest.startsWith(o));
  if (!op) return undefined;
  return { field, op, value: rest.slice(op.length) };
}

export function parseEncodedQuery(query: string): ParsedQuery {
  const parsed: ParsedQuery = { groups: [[]], orderBy: [] };
  if (!query) return parsed;
  for (let token of query.split('^')) {
    if (token === '' || token === 'EQ') continue;
    // Field names are lower case, so the upper-case keywords cannot be mistaken for one.
    if (token.startsWith('NQ')) {
      parsed.groups.push([]);
      token = token.slice(2);
      if (token === '') continue;
    }
    if (token.startsWith('ORDERBYDESC')) {
      parsed.orderBy.push({ field: token.slice(11), desc: true });
      continue;
    }
    if (token.startsWith('ORDERBY')) {
      parsed.orderBy.push({ field: token.slice(7), desc: false });
      continue;
    }
    const group = parsed.groups[parsed.groups.length - 1];
    if (token.startsWith('OR') && group.length > 0) {
      const c = parseCondition(token.slice(2));
      if (c) group[group.length - 1].push(c);
      continue;
    }
    const c = parseCondition(token);
    if (c) group.push([c]);
  }
  return parsed;
}

function test(row: Row, c: Condition): boolean {
  const v = row[c.field] ?? '';
  switch (c.op) {
    case '=': return v === c.value;
    case '!=': return v !== c.value;
    case 'LIKE': return v.toLowerCase().includes(c.value.toLowerCase());
    case 'NOT LIKE': return !v.toLowerCase().includes(c.value.toLowerCase());
    case 'STARTSWITH': return v.toLowerCase().startsWith(c.value.toLowerCase());
    case 'ENDSWITH': return v.toLowerCase().endsWith(c.value.toLowerCase());
    case 'IN': return c.value.split(',').includes(v);
    case 'NOT IN': return !c.value.split(',').includes(v);
    case 'ISEMPTY': return v === '';
    case 'ISNOTEMPTY': return v !== '';
  }
}

/** Filters and orders rows; `knownFields` are the table's columns (conditions on others are dropped). */
export function applyEncodedQuery(rows: Row[], query: string, knownFields: Set<string>): Row[] {
  const q = parseEncodedQuery(query);
  const groups = q.groups
    .map((g) => g.map((clause) => clause.filter((c) => knownFields.has(c.field))).filter((clause) => clause.length > 0));
  const matched = rows.filter((row) => groups.some((g) => g.every((clause) => clause.some((c) => test(row, c)))));
  const order = q.orderBy.filter((o) => knownFields.has(o.field));
  if (order.length === 0) return matched;
  return [...matched].sort((a, b) => {
    for (const o of order) {
      const cmp = (a[o.field] ?? '').localeCompare(b[o.field] ?? '');
      if (cmp !== 0) return o.desc ? -cmp : cmp;
    }
    return 0;
  });
}
