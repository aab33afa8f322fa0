// RFC 6242 message framing, as a pure codec: bytes in, whole messages out. base:1.0 ends a message
// with "]]>]]>" (§4.3); base:1.1 sends chunks "\n#<len>\n<data>" closed by "\n##\n" (§4.2), where
// len counts bytes. A malformed chunk header throws: the caller must end the session, because
// nothing after a framing error can be trusted (ncclient's parser does the same).

export type Framing = '1.0' | '1.1';
export const EOM = ']]>]]>';
const EOM_BYTES = Buffer.from(EOM);
const MAX_CHUNK = 4294967295; // RFC 6242 §4.2: chunk-size is 1..4294967295

export class FramingError extends Error {
  override readonly name = 'FramingError';
}

export function encodeMessage(message: string, framing: Framing, maxChunk = Infinity): Buffer {
  const body = Buffer.from(message, 'utf8');
  if (framing === '1.0') return Buffer.concat([body, EOM_BYTES]);
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += maxChunk) {
    const piece = body.subarray(at, Math.min(body.length, at + maxChunk));
    parts.push(Buffer.from(`\n#${piece.length}\n`), piece);
  }
  parts.push(Buffer.from('\n##\n'));
  return Buffer.concat(parts);
}

// A growable byte queue: appends copy into spare room, reads advance an offset, so a 5 MB reply in
// 2 KB reads costs linear time.
class ByteQueue {
  private buf = Buffer.alloc(64 * 1024);
  private start = 0;
  private end = 0;
  get length(): number {
    return this.end - this.start;
  }
  push(data: Buffer): void {
    if (this.end + data.length > this.buf.length) {
      const need = this.length + data.length;
      const next = need * 2 > this.buf.length ? Buffer.alloc(Math.max(need * 2, 64 * 1024)) : this.buf;
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
      this.end -= this.start;
      this.start = 0;
    }
    data.copy(this.buf, this.end);
    this.end += data.length;
  }
  view(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }
  take(n: number): Buffer {
    const out = Buffer.from(this.buf.subarray(this.start, this.start + n));
    this.start += n;
    return out;
  }
  skip(n: number): void {
    this.start += n;
  }
}

export class FrameDecoder {
  private queue = new ByteQueue();
  private chunks: Buffer[] = [];
  private searchFrom = 0; // base:1.0: where the end-of-message search resumes
  private failed: FramingError | null = null;

  constructor(private framing: Framing = '1.0') {}

  /** RFC 6242 §4.1: after both hellos the session switches; bytes already queued are read anew. */
  setFraming(framing: Framing): void {
    this.framing = framing;
    this.searchFrom = 0;
  }

  push(data: Buffer): void {
    this.queue.push(data);
  }

  /** The next whole message, or null when more bytes are needed. Throws FramingError for good. */
  next(): string | null {
    if (this.failed) throw this.failed;
    try {
      return this.framing === '1.0' ? this.nextEom() : this.nextChunked();
    } catch (err) {
      if (err instanceof FramingError) this.failed = err;
      throw err;
    }
  }

  private nextEom(): string | null {
    const view = this.queue.view();
    const at = view.indexOf(EOM_BYTES, this.searchFrom);
    if (at < 0) {
      this.searchFrom = Math.max(0, view.length - EOM_BYTES.length + 1);
      return null;
    }
    const msg = this.queue.take(at).toString('utf8');
    this.queue.skip(EOM_BYTES.length);
    this.searchFrom = 0;
    return msg;
  }

  private nextChunked(): string | null {
    for (;;) {
      const view = this.queue.view();
      if (view.length < 4) return null;
      if (view[0] !== 0x0a || view[1] !== 0x23) throw new FramingError(`expected a chunk header "\\n#", got ${show(view)}`);
      if (view[2] === 0x23) {
        if (view[3] !== 0x0a) throw new FramingError(`bad end-of-chunks marker ${show(view)}`);
        this.queue.skip(4);
        if (this.chunks.length === 0) throw new FramingError('end-of-chunks without any chunk');
        const msg = Buffer.concat(this.chunks).toString('utf8');
        this.chunks = [];
        return msg;
      }
      let i = 2;
      while (i < view.length && i < 13 && view[i]! >= 0x30 && view[i]! <= 0x39) i++;
      if (i === view.length) return null; // header not complete yet
      if (view[i] !== 0x0a || i === 2 || i > 12) throw new FramingError(`bad chunk size in ${show(view)}`);
      const digits = view.subarray(2, i).toString('ascii');
      const size = Number(digits);
      if (digits[0] === '0' || size < 1 || size > MAX_CHUNK) throw new FramingError(`chunk size ${digits} outside 1..${MAX_CHUNK}`);
      if (view.length < i + 1 + size) return null;
      this.queue.skip(i + 1);
      this.chunks.push(this.queue.take(size));
    }
  }
}

function show(b: Buffer): string {
  return JSON.stringify(b.subarray(0, 16).toString('latin1'));
}
