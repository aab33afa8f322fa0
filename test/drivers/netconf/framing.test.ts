// The RFC 6242 codec on its own: no server needed, every edge of the chunk grammar.
import { describe, expect, it } from 'vitest';
import { EOM, FrameDecoder, FramingError, encodeMessage } from '../../../src/drivers/netconf/framing.ts';

const drain = (d: FrameDecoder) => {
  const out: string[] = [];
  for (let m = d.next(); m !== null; m = d.next()) out.push(m);
  return out;
};

describe('base:1.0 end-of-message framing', () => {
  it('splits messages on ]]>]]> even when the marker spans reads', () => {
    const d = new FrameDecoder('1.0');
    const wire = Buffer.concat([encodeMessage('<a/>', '1.0'), encodeMessage('<b>é</b>', '1.0')]);
    const out: string[] = [];
    for (const byte of wire) {
      d.push(Buffer.from([byte]));
      out.push(...drain(d));
    }
    expect(out).toEqual(['<a/>', '<b>é</b>']);
  });

  it('waits for the marker', () => {
    const d = new FrameDecoder('1.0');
    d.push(Buffer.from(`<a/>${EOM.slice(0, 4)}`));
    expect(d.next()).toBeNull();
    d.push(Buffer.from(EOM.slice(4)));
    expect(d.next()).toBe('<a/>');
  });
});

describe('base:1.1 chunked framing (RFC 6242 §4.2)', () => {
  it('round-trips with 7-byte chunks and counts UTF-8 bytes, not characters', () => {
    const msg = '<rpc-reply>größe ✓ 中文 😀</rpc-reply>';
    const wire = encodeMessage(msg, '1.1', 7);
    expect(wire.toString('utf8')).toMatch(/^\n#7\n/);
    const d = new FrameDecoder('1.1');
    d.push(wire);
    expect(drain(d)).toEqual([msg]);
    const single = encodeMessage('ä', '1.1').toString('utf8');
    expect(single).toBe('\n#2\nä\n##\n');
  });

  it('joins a chunk split across two reads, at every split point', () => {
    const msg = '<data>' + 'x'.repeat(50) + 'é</data>';
    const wire = Buffer.concat([encodeMessage(msg, '1.1', 16), encodeMessage('<ok/>', '1.1')]);
    for (let cut = 1; cut < wire.length; cut++) {
      const d = new FrameDecoder('1.1');
      d.push(wire.subarray(0, cut));
      const out = drain(d);
      d.push(wire.subarray(cut));
      out.push(...drain(d));
      expect(out, `cut at ${cut}`).toEqual([msg, '<ok/>']);
    }
  });

  it('switches framing after the hello with bytes already queued', () => {
    const d = new FrameDecoder('1.0');
    d.push(Buffer.concat([encodeMessage('<hello/>', '1.0'), encodeMessage('<rpc-reply/>', '1.1')]));
    expect(d.next()).toBe('<hello/>');
    d.setFraming('1.1');
    expect(d.next()).toBe('<rpc-reply/>');
  });

  it('decodes a 5 MB message in 2 KB reads', () => {
    const msg = `<data>${'<vlan><id>1</id></vlan>'.repeat(230_000)}</data>`;
    const wire = encodeMessage(msg, '1.1', 2048);
    const d = new FrameDecoder('1.1');
    const out: string[] = [];
    for (let at = 0; at < wire.length; at += 2000) {
      d.push(wire.subarray(at, at + 2000));
      out.push(...drain(d));
    }
    expect(out).toHaveLength(1);
    expect(out[0]!.length).toBe(msg.length);
  });

  for (const [why, bad] of [
    ['a header without #', '\nX5\nhello'],
    ['a zero-length chunk', '\n#0\n\n##\n'],
    ['a leading zero', '\n#05\nhello\n##\n'],
    ['a non-digit size', '\n#5a\nhello'],
    ['a size above 4294967295', '\n#4294967296\nx'],
    ['end-of-chunks with no chunk', '\n##\n'],
    ['garbage where the next header should be', '\n#2\nab!!!!'],
  ] as const) {
    it(`throws on ${why} and stays failed`, () => {
      const d = new FrameDecoder('1.1');
      d.push(Buffer.from(bad));
      expect(() => drain(d)).toThrow(FramingError);
      d.push(encodeMessage('<ok/>', '1.1'));
      expect(() => d.next()).toThrow(FramingError);
    });
  }
});
