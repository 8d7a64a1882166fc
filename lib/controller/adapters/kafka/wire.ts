/**
 * Kafka wire-protocol primitives: a byte writer/reader with the classic and the "flexible"
 * (KIP-482: compact strings/arrays, unsigned varints, tagged fields) encodings, request and
 * response headers, size-prefixed framing, and the shape of a typed API definition.
 *
 * Written from the protocol specification (https://kafka.apache.org/protocol and the
 * message schemas); no socket code here (see connection.ts).
 */

/** Growable big-endian byte writer. */
export class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.alloc(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The bytes written so far (a copy). */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  uint16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  int64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }

  /** Unsigned varint (LEB128, 7 bits per byte), values 0 .. 2^32-1. */
  uvarint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uvarint out of range: ${v}`);
    let x = v;
    while (x >= 0x80) {
      this.int8Raw((x & 0x7f) | 0x80);
      x = Math.floor(x / 128);
    }
    this.int8Raw(x);
    return this;
  }

  /** Signed varint (zigzag then LEB128), 32-bit range. */
  varint(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`varint out of range: ${v}`);
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  private int8Raw(byte: number): void {
    this.ensure(1);
    this.buf[this.pos++] = byte;
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** STRING (int16 length) or NULLABLE_STRING (-1 for null). */
  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const b = Buffer.from(v, 'utf8');
    if (b.length > 0x7fff) throw new RangeError('string too long');
    return this.int16(b.length).raw(b);
  }

  /** COMPACT_STRING / COMPACT_NULLABLE_STRING (uvarint length+1, 0 for null). */
  compactString(v: string | null): this {
    if (v === null) return this.uvarint(0);
    const b = Buffer.from(v, 'utf8');
    return this.uvarint(b.length + 1).raw(b);
  }

  /** String in the encoding of the message version. */
  str(v: string | null, flexible: boolean): this {
    return flexible ? this.compactString(v) : this.string(v);
  }

  /** Array length prefix: int32 (classic, -1 = null) or uvarint length+1 (compact, 0 = null). */
  arrayLength(n: number | null, flexible: boolean): this {
    if (flexible) return this.uvarint(n === null ? 0 : n + 1);
    return this.int32(n === null ? -1 : n);
  }

  /** Array of items in the encoding of the message version; `null` writes a null array. */
  array<T>(items: readonly T[] | null, flexible: boolean, each: (w: this, item: T) => void): this {
    this.arrayLength(items === null ? null : items.length, flexible);
    for (const item of items ?? []) each(this, item);
    return this;
  }

  /** 16 raw bytes; accepts the base64url form Kafka prints (22 chars) or 32 hex digits. */
  uuid(v: string): this {
    return this.raw(uuidToBytes(v));
  }

  /**
   * Tagged-field section (flexible versions only): uvarint count, then per field uvarint tag,
   * uvarint size, bytes. Tags are written in ascending order, as the spec requires.
   */
  taggedFields(fields: ReadonlyMap<number, Uint8Array> | null = null): this {
    const entries = [...(fields ?? new Map<number, Uint8Array>()).entries()].sort((a, b) => a[0] - b[0]);
    this.uvarint(entries.length);
    for (const [tag, data] of entries) this.uvarint(tag).uvarint(data.length).raw(data);
    return this;
  }
}

export class ProtocolDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolDecodeError';
  }
}

/** Big-endian byte reader over one response body. */
export class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new ProtocolDecodeError(`truncated message: need ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos}`);
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** int64 as a JS number (offsets, timestamps: safe below 2^53). */
  int64n(): number {
    return Number(this.int64());
  }

  uvarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      this.need(1);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw new ProtocolDecodeError('uvarint overflows 32 bits');
        return result;
      }
      mul *= 128;
    }
    throw new ProtocolDecodeError('uvarint longer than 5 bytes');
  }

  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }

  raw(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** NULLABLE_STRING / STRING. */
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    return this.raw(n).toString('utf8');
  }

  compactString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.raw(n - 1).toString('utf8');
  }

  str(flexible: boolean): string | null {
    return flexible ? this.compactString() : this.string();
  }

  /** A non-nullable string; throws when the broker sent null. */
  strNN(flexible: boolean, field = 'string'): string {
    const s = this.str(flexible);
    if (s === null) throw new ProtocolDecodeError(`unexpected null ${field}`);
    return s;
  }

  /** Array length, or null for a null array. */
  arrayLength(flexible: boolean): number | null {
    if (flexible) {
      const n = this.uvarint();
      return n === 0 ? null : n - 1;
    }
    const n = this.int32();
    return n < 0 ? null : n;
  }

  /** Array of items (a null array reads as []). */
  array<T>(flexible: boolean, each: (r: this) => T): T[] {
    const n = this.arrayLength(flexible) ?? 0;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }

  /** 16-byte UUID as Kafka's base64url text form. */
  uuid(): string {
    return this.raw(16).toString('base64url');
  }

  /** Read a tagged-field section: tag → raw bytes. Unknown tags are kept, not interpreted. */
  taggedFields(): Map<number, Buffer> {
    const n = this.uvarint();
    const out = new Map<number, Buffer>();
    for (let i = 0; i < n; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      out.set(tag, this.raw(size));
    }
    return out;
  }
}

export function uuidToBytes(v: string): Buffer {
  const hex = v.replace(/-/g, '');
  if (/^[0-9a-fA-F]{32}$/.test(hex)) return Buffer.from(hex, 'hex');
  const b = Buffer.from(v, 'base64url');
  if (b.length !== 16) throw new RangeError(`not a UUID: ${v}`);
  return b;
}

// ---------------------------------------------------------------------------------------
// Headers and framing

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/**
 * Request header v1 (classic) or v2 (flexible: v1 + tagged fields). The client id is always
 * a classic int16-length string, even in v2.
 */
export function writeRequestHeader(w: Writer, h: RequestHeader, flexible: boolean): void {
  w.int16(h.apiKey).int16(h.apiVersion).int32(h.correlationId).string(h.clientId);
  if (flexible) w.taggedFields();
}

/** Response header v0 (correlation id) or v1 (+ tagged fields). */
export function readResponseHeader(r: Reader, flexible: boolean): { correlationId: number } {
  const correlationId = r.int32();
  if (flexible) r.taggedFields();
  return { correlationId };
}

/** Prefix a message with its int32 size. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(4 + message.length);
  out.writeInt32BE(message.length, 0);
  message.copy(out, 4);
  return out;
}

/**
 * Splits a byte stream into size-prefixed frames. Feed it chunks; it returns complete frames
 * (without the size prefix) and keeps any partial remainder.
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes = 100 * 1024 * 1024) {}

  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Buffer[] = [];
    let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    let off = 0;
    while (buf.length - off >= 4) {
      const size = buf.readInt32BE(off);
      if (size < 0 || size > this.maxFrameBytes) throw new ProtocolDecodeError(`bad frame size ${size}`);
      if (buf.length - off - 4 < size) break;
      frames.push(buf.subarray(off + 4, off + 4 + size));
      off += 4 + size;
    }
    buf = buf.subarray(off);
    this.pending = buf.length ? [buf] : [];
    this.pendingBytes = buf.length;
    return frames;
  }
}

// ---------------------------------------------------------------------------------------
// API definitions

/**
 * One Kafka API as we speak it: which versions we implement, which of them are flexible, and
 * how to encode the request body / decode the response body for a given version.
 */
export interface ApiDefinition<Req, Res> {
  readonly name: string;
  readonly apiKey: number;
  /** Versions we implement (inclusive); the connection picks the highest the broker also supports. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible version of the request/response bodies (Infinity if none). */
  readonly firstFlexibleVersion: number;
  /** ApiVersions is special: its response header is always v0. Defaults to false. */
  readonly responseHeaderAlwaysV0?: boolean;
  encode(w: Writer, req: Req, version: number): void;
  decode(r: Reader, version: number): Res;
}

export function isFlexible(api: ApiDefinition<unknown, unknown>, version: number): boolean {
  return version >= api.firstFlexibleVersion;
}

/** Encode a full request (header + body), without the size prefix. */
export function encodeRequest<Req>(api: ApiDefinition<Req, unknown>, version: number, correlationId: number, clientId: string | null, req: Req): Buffer {
  const flexible = isFlexible(api, version);
  const w = new Writer();
  writeRequestHeader(w, { apiKey: api.apiKey, apiVersion: version, correlationId, clientId }, flexible);
  api.encode(w, req, version);
  return w.toBuffer();
}

/** Decode a response body (after the header) and check nothing is left over. */
export function decodeResponseBody<Res>(api: ApiDefinition<unknown, Res>, version: number, r: Reader): Res {
  const res = api.decode(r, version);
  if (r.remaining !== 0) throw new ProtocolDecodeError(`${api.name} v${version}: ${r.remaining} unexpected trailing bytes`);
  return res;
}

/** Whether the response header for this API/version is v1 (flexible). */
export function responseHeaderFlexible(api: ApiDefinition<unknown, unknown>, version: number): boolean {
  return !api.responseHeaderAlwaysV0 && isFlexible(api, version);
}
