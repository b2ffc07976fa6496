/**
 * The little XML the PAN-OS XML API needs, without a dependency: escaping for every value placed in
 * a request (`cmd`, `element`, an xpath literal) and a strict reader for its answers. The reader
 * takes elements, attributes, text, CDATA, comments, the XML declaration and the five predefined
 * entities plus numeric character references; anything else (a DOCTYPE, an unclosed tag) is refused.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** the element's own text (CDATA included), not its descendants' */
  text: string;
}

export class XmlParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlParseError';
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text or attribute value for an XML document: never concatenate a raw value into a request. */
export function xmlEscape(value: string): string {
  // C0 controls other than tab/newline/CR cannot appear in XML 1.0 at all, escaped or not.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(value)) throw new XmlParseError('a control character cannot be sent in XML');
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** `<a><b>text</b></a>` from a path and a text leaf, every part escaped. */
export function xmlElement(name: string, content: string | XmlElementSpec[]): string {
  if (!/^[A-Za-z_][A-Za-z0-9._-]*$/.test(name)) throw new XmlParseError(`not an element name: ${JSON.stringify(name)}`);
  const inner = typeof content === 'string' ? xmlEscape(content) : content.map((c) => xmlElement(c[0], c[1])).join('');
  return `<${name}>${inner}</${name}>`;
}
export type XmlElementSpec = [string, string | XmlElementSpec[]];

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[a-z]+);|&/g, (m, e: string | undefined) => {
    if (!e) throw new XmlParseError('a bare & in text');
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    const v = ENTITY[e];
    if (v === undefined) throw new XmlParseError(`unknown entity &${e};`);
    return v;
  });
}

export function parseXml(text: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (what: string): never => { throw new XmlParseError(`${what} at offset ${i}`); };
  while (i < text.length) {
    if (text.startsWith('<?', i)) { const end = text.indexOf('?>', i); if (end < 0) fail('unterminated declaration'); i = end + 2; continue; }
    if (text.startsWith('<!--', i)) { const end = text.indexOf('-->', i); if (end < 0) fail('unterminated comment'); i = end + 3; continue; }
    if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i);
      if (end < 0 || !stack.length) fail('CDATA outside an element');
      stack[stack.length - 1].text += text.slice(i + 9, end);
      i = end + 3;
      continue;
    }
    if (text.startsWith('<!', i)) fail('DOCTYPE and declarations are not accepted');
    if (text.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(text.slice(i));
      const top = stack.pop();
      if (!m || !top || top.name !== m[1]) fail('mismatched closing tag');
      i += m![0].length;
      continue;
    }
    if (text[i] === '<') {
      const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(text.slice(i));
      if (!m) fail('malformed tag');
      const attrs: Record<string, string> = {};
      for (const a of m![2].matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[a[1]] = decode(a[2] ?? a[3]);
      const el: XmlElement = { name: m![1], attrs, children: [], text: '' };
      if (stack.length) stack[stack.length - 1].children.push(el);
      else if (root) fail('a second root element');
      else root = el;
      if (!m![3]) stack.push(el);
      i += m![0].length;
      continue;
    }
    const next = text.indexOf('<', i);
    const chunk = text.slice(i, next < 0 ? text.length : next);
    if (stack.length) stack[stack.length - 1].text += decode(chunk);
    else if (chunk.trim()) fail('text outside the root element');
    i = next < 0 ? text.length : next;
  }
  if (stack.length || !root) throw new XmlParseError(stack.length ? `unclosed <${stack[stack.length - 1].name}>` : 'no root element');
  return root;
}

export const child = (el: XmlElement | undefined, name: string): XmlElement | undefined => el?.children.find((c) => c.name === name);
export const childrenNamed = (el: XmlElement | undefined, name: string): XmlElement[] => el?.children.filter((c) => c.name === name) ?? [];
/** The trimmed text of a child element, or undefined when absent or empty. */
export const childText = (el: XmlElement | undefined, name: string): string | undefined => {
  const t = child(el, name)?.text.trim();
  return t ? t : undefined;
};
/** Every text under an element, depth first (an error's `<msg><line>…</line></msg>`). */
export function allText(el: XmlElement): string[] {
  const own = el.text.trim() ? [el.text.trim()] : [];
  return [...own, ...el.children.flatMap(allText)];
}
