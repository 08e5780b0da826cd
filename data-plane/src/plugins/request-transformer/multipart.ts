/**
 * multipart/form-data as request-transformer changes it (Kong uses lua-multipart): parts in
 * order, each with its header block (kept as bytes) and its value; `setSimple` adds or updates a
 * plain field. Binary-safe (values stay Buffers). A body that is not well-formed multipart is
 * refused by `parseMultipart` (null), and the plugin then leaves it as it is.
 */

export interface Part {
  /** The field name (Content-Disposition `name`). */
  readonly name: string;
  /** The part's header lines, without the blank line. */
  headers: Buffer;
  value: Buffer;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary of a multipart Content-Type, or null. */
export function boundaryOf(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]{1,200})"|([^;\s]{1,200}))/i.exec(contentType);
  if (m === null) return null;
  return m[1] ?? m[2] ?? null;
}

function nameOf(headers: string): string | null {
  for (const line of headers.split('\r\n')) {
    if (!/^content-disposition\s*:/i.test(line)) continue;
    const m = /;\s*name="([^"]*)"|;\s*name=([^;\s]+)/i.exec(line);
    if (m !== null) return m[1] ?? m[2] ?? null;
  }
  return null;
}

/** The parts of `body`, or null when it is not multipart with this boundary. */
export function parseMultipart(body: Buffer, boundary: string): Part[] | null {
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  if (at < 0) return null;
  const parts: Part[] = [];
  for (;;) {
    at += delimiter.length;
    // The closing delimiter ends the body.
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts;
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) return null;
    const start = at + 2;
    const next = body.indexOf(Buffer.concat([CRLF, delimiter]), start);
    if (next < 0) return null;
    const headEnd = body.indexOf(HEADER_END, start);
    if (headEnd < 0 || headEnd > next) return null;
    const headers = body.subarray(start, headEnd);
    const name = nameOf(headers.toString('latin1'));
    if (name === null) return null;
    parts.push({ name, headers, value: body.subarray(headEnd + 4, next) });
    at = next + 2;
  }
}

export class Multipart {
  constructor(
    private parts: Part[],
    private readonly boundary: string,
  ) {}

  has(name: string): boolean {
    return this.parts.some((p) => p.name === name);
  }

  get(name: string): Part | undefined {
    return this.parts.find((p) => p.name === name);
  }

  delete(name: string): void {
    this.parts = this.parts.filter((p) => p.name !== name);
  }

  /** Updates the value of field `name`, or adds it as a plain field. */
  setSimple(name: string, value: Buffer): void {
    const part = this.get(name);
    if (part !== undefined) {
      part.value = value;
      return;
    }
    const quoted = name.replace(/["\r\n]/g, (c) => encodeURIComponent(c));
    this.parts.push({
      name,
      headers: Buffer.from(`Content-Disposition: form-data; name="${quoted}"`, 'utf8'),
      value,
    });
  }

  toBuffer(): Buffer {
    const chunks: Buffer[] = [];
    const open = Buffer.from(`--${this.boundary}\r\n`);
    for (const p of this.parts) chunks.push(open, p.headers, HEADER_END, p.value, CRLF);
    chunks.push(Buffer.from(`--${this.boundary}--\r\n`));
    return Buffer.concat(chunks);
  }
}
