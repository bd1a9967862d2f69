/**
 * json-scan.ts against `JSON.parse`: it may decline valid text (non-ASCII in the ASCII scan, line
 * breaks, deep nesting) but must never accept text `JSON.parse` rejects, and the member offsets it gives must be
 * those of the string scanner the general path uses (chat-json-members.ts).
 */
import { describe, expect, it } from 'vitest';
import { objectMembers } from '../../src/core/chat-json-members.js';
import { asciiObjectMembers, MAX_DEPTH, utf8ObjectMembers } from '../../src/core/json-scan.js';

const scan = (text: string): number[] | undefined => asciiObjectMembers(Buffer.from(text, 'latin1'));

function parsesToObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

describe('asciiObjectMembers', () => {
  it.each([
    ['{}', []],
    [' {"a":1} ', [2, 5, 6, 7]],
    ['{"a" : [1, {"b": null}], "c":"x\\"y\\u00e9\\/"}', [1, 4, 7, 23, 25, 28, 29, 43]],
    ['{"n":-0.5e+10,"t":true,"f":false,"z":0,"e":1E2}', [1, 4, 5, 13, 14, 17, 18, 22, 23, 26, 27, 32, 33, 36, 37, 38, 39, 42, 43, 46]],
  ])('finds the members of %s', (text, members) => {
    expect(scan(text)).toEqual(members);
    expect(scan(text)).toEqual(objectMembers(text));
  });

  it.each([
    '', '[]', '"x"', '1', '{', '{"a":1,}', '{"a":1}x', '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":1e}', '{"a":-}', '{"a":+1}',
    '{"a":tru}', '{"a":nul}', '{"a":"\\x"}', '{"a":"\\u12g4"}', '{"a":"\u0001"}', '{"a" 1}', '{a:1}', "{'a':1}", '{"a":[1,]}',
    '{"a":[1 2]}', '{"a":"unterminated}', '{"a":1}{"b":2}', '{"a":NaN}', '{"a":Infinity}',
  ])('refuses %j, as JSON.parse does or should', (text) => {
    expect(scan(text)).toBeUndefined();
  });

  it('accepts whitespace after the value, a final newline too (nothing after the value is copied)', () => {
    expect(scan('{"a":1}\n')).toEqual([1, 4, 5, 6]);
    expect(scan('{"a":1} \r\n\t')).toEqual([1, 4, 5, 6]);
    expect(utf8ObjectMembers(Buffer.from('{"a":"é"}\n'))?.members).toEqual([1, 4, 5, 9]);
    expect(scan('{"a":1}\nx')).toBeUndefined();
  });

  it('declines valid text it does not handle: non-ASCII, line breaks, deep nesting', () => {
    expect(scan('{"a":"é"}')).toBeUndefined();
    expect(asciiObjectMembers(Buffer.from('{"a":"é"}'))).toBeUndefined();
    expect(scan('{"a":1,\n"b":2}')).toBeUndefined();
    expect(scan('{"a":1,\r"b":2}')).toBeUndefined();
    const deep = (n: number): string => `{"a":${'['.repeat(n)}${']'.repeat(n)}}`;
    expect(scan(deep(MAX_DEPTH - 2))).toBeDefined();
    expect(scan(deep(MAX_DEPTH + 1))).toBeUndefined();
    expect(parsesToObject(deep(MAX_DEPTH + 1))).toBe(true);
  });

  it('never accepts what JSON.parse rejects: 20,000 mutations of valid bodies', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const bodies = [
      '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi \\"there\\" \\u00e9"}],"temperature":0.2,"stream":true,"n":1,"stop":null}',
      '{ "a" : [ 1 , -2.5e-3 , true , false , null , { "b" : "c" } ] , "d" : {} , "e" : [] }',
    ];
    const alphabet = '{}[]":,.-+0123456789eEtrufalsn \t\\/u"abc\n\x01\x7f';
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = bodies[i % bodies.length];
      for (let k = 1 + rand(3); k > 0; k--) {
        const at = rand(text.length + 1);
        const op = rand(3);
        const c = alphabet[rand(alphabet.length)];
        text = op === 0 ? text.slice(0, at) + c + text.slice(at) : op === 1 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + c + text.slice(at + 1);
      }
      const members = scan(text);
      if (members === undefined) continue;
      accepted++;
      expect(parsesToObject(text), text).toBe(true);
      expect(members, text).toEqual(objectMembers(text));
    }
    // The mutations are not all fatal: the accepting side is exercised too.
    expect(accepted).toBeGreaterThan(500);
  });
});

describe('utf8ObjectMembers', () => {
  it('accepts well-formed UTF-8 in strings and gives byte offsets', () => {
    const body = Buffer.from('{"a":"é世😀","b":1}');
    const found = utf8ObjectMembers(body);
    expect(found?.nonAscii).toBe(true);
    const members = found?.members ?? [];
    expect(body.toString('utf8', members[2], members[3])).toBe('"é世😀"');
    expect(body.toString('utf8', members[4], members[5])).toBe('"b"');
    expect(members[7]).toBe(body.length - 1);
  });

  it('says when a body is all ASCII: then its offsets are those of the text', () => {
    const text = '{"a" : [1, {"b": null}], "c":"x\\"y\\u00e9"}';
    expect(utf8ObjectMembers(Buffer.from(text))).toEqual({ members: objectMembers(text), nonAscii: false });
  });

  it.each([
    ['a lone continuation byte', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d])],
    ['a truncated sequence', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe4, 0xb8, 0x22, 0x7d])],
    ['an overlong encoding', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d])],
    ['an encoded surrogate (CESU-8)', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])],
  ])('refuses %s (the general path decodes it with U+FFFD)', (_name, body) => {
    expect(utf8ObjectMembers(body)).toBeUndefined();
  });

  it('refuses a byte above 0x7f outside a string, and what the ASCII scan refuses', () => {
    expect(utf8ObjectMembers(Buffer.from('{"a":1é}'))).toBeUndefined();
    expect(utf8ObjectMembers(Buffer.from('{"é":1,}'))).toBeUndefined();
    expect(utf8ObjectMembers(Buffer.from('{"a":"é",\n"b":2}'))).toBeUndefined();
  });

  it('never accepts what JSON.parse rejects, and finds what the string scanner finds: 10,000 mutations', () => {
    let seed = 11;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const body = Buffer.from('{"model":"通义千问","messages":[{"role":"user","content":"你好 \\"世界\\" é 😀"}],"n":1}');
    const bytes = [0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x3a, 0x2c, 0x5c, 0x31, 0x20, 0x0a, 0x80, 0xbf, 0xc3, 0xa9, 0xe4, 0xf0, 0xff];
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      const mutated = Buffer.from(body);
      for (let k = 1 + rand(2); k > 0; k--) mutated[rand(mutated.length)] = bytes[rand(bytes.length)];
      const found = utf8ObjectMembers(mutated);
      if (found === undefined) continue;
      accepted++;
      const text = mutated.toString('utf8');
      expect(parsesToObject(text), text).toBe(true);
      expect(text.includes('\ufffd'), text).toBe(false);
      const members = objectMembers(text) ?? [];
      // The same members, at the byte offsets of the characters the string scanner found.
      expect(found.members.map((at) => mutated.toString('utf8', 0, at).length), text).toEqual(members);
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
