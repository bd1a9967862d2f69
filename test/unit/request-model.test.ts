import { describe, expect, it } from 'vitest';
import { NameList, modelRefusal, type KeyPolicy, type RequestModels } from '../../src/core/key-policy.js';
import { bothModels, modelsOfBody, modelsOfTarget } from '../../src/core/request-model.js';

const JSON_TYPE = 'application/json';

function json(text: string, contentType: string | undefined = JSON_TYPE): RequestModels {
  return modelsOfBody(contentType, Buffer.from(text, 'utf8'));
}

function kind(found: RequestModels): string {
  return found.kind;
}

describe('modelsOfBody: JSON', () => {
  it('reads the top-level model', () => {
    expect(json('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}')).toEqual({ kind: 'named', models: ['gpt-4o-mini'] });
    expect(json(' \n\t{ "stream" : true ,\r\n "model" : "o3" } \n')).toEqual({ kind: 'named', models: ['o3'] });
    expect(json('{"model":"модель-😀"}')).toEqual({ kind: 'named', models: ['модель-😀'] });
  });

  it('a model that is not a string is returned as is', () => {
    expect(json('{"model":42}')).toEqual({ kind: 'named', models: [42] });
    expect(json('{"model":null}')).toEqual({ kind: 'named', models: [null] });
    expect(json('{"model":["gpt-4o-mini"]}')).toEqual({ kind: 'named', models: [['gpt-4o-mini']] });
    expect(json('{"model":{"id":"gpt-4o-mini"}}')).toEqual({ kind: 'named', models: [{ id: 'gpt-4o-mini' }] });
  });

  it('a model named twice gives both, in order, whichever a parser would keep', () => {
    expect(json('{"model":"gpt-4o-mini","messages":[],"model":"gpt-4o"}')).toEqual({ kind: 'named', models: ['gpt-4o-mini', 'gpt-4o'] });
    expect(json('{"model":"gpt-4o","model":"gpt-4o-mini"}')).toEqual({ kind: 'named', models: ['gpt-4o', 'gpt-4o-mini'] });
    expect(json('{"model":"a","model":"a","model":"a"}')).toEqual({ kind: 'named', models: ['a', 'a', 'a'] });
  });

  it('a key spelt with escapes is still "model"', () => {
    expect(json('{"model":"gpt-4o-mini","mod\\u0065l":"gpt-4o"}')).toEqual({ kind: 'named', models: ['gpt-4o-mini', 'gpt-4o'] });
    expect(json('{"\\u006d\\u006F\\u0064\\u0065\\u006c":"o3"}')).toEqual({ kind: 'named', models: ['o3'] });
    // Escaped values are decoded too.
    expect(json('{"model":"gpt-4o\\u002dmini"}')).toEqual({ kind: 'named', models: ['gpt-4o-mini'] });
  });

  it('keys that only look like "model" do not count', () => {
    expect(json('{"model ":"y","models":["z"]," model":"w","modeI":"v"}')).toEqual({ kind: 'none' });
  });

  it('"model" in any letter case counts, as Go\'s encoding/json reads it', () => {
    expect(json('{"Model":"x"}')).toEqual({ kind: 'named', models: ['x'] });
    expect(json('{"model":"gpt-4o-mini","MODEL":"gpt-4o","mOdEl":"o3"}')).toEqual({ kind: 'named', models: ['gpt-4o-mini', 'gpt-4o', 'o3'] });
    expect(json('{"M\\u004fDEL":"o1"}')).toEqual({ kind: 'named', models: ['o1'] });
    // The general path (a line break: not the byte scan) reads them the same.
    expect(json('{\n"Model":"x"}')).toEqual({ kind: 'named', models: ['x'] });
  });

  it('a "model" nested deeper does not count', () => {
    const nested = '{"messages":[{"role":"user","content":"hi","model":"gpt-4o"}],"metadata":{"model":"o3"},"tools":[{"model":"x"}]}';
    expect(json(nested)).toEqual({ kind: 'none' });
    expect(json('{"messages":[{"model":"gpt-4o"}],"model":"gpt-4o-mini"}')).toEqual({ kind: 'named', models: ['gpt-4o-mini'] });
  });

  it('"model" inside a string value does not count', () => {
    expect(json('{"prompt":"{\\"model\\":\\"gpt-4o\\"}","model":"gpt-4o-mini"}')).toEqual({ kind: 'named', models: ['gpt-4o-mini'] });
    expect(json('{"prompt":"\\\\","model":"a"}')).toEqual({ kind: 'named', models: ['a'] });
  });

  it('an object without a model names none', () => {
    expect(json('{}')).toEqual({ kind: 'none' });
    expect(json('{"input":"hello"}')).toEqual({ kind: 'none' });
  });

  it('JSON that is not an object names none', () => {
    for (const text of ['[{"model":"gpt-4o"}]', '"model"', '42', 'null', 'true', '[]']) expect(json(text), text).toEqual({ kind: 'none' });
  });

  it('anything JSON.parse refuses is unreadable, lenient-only JSON included', () => {
    const bad = [
      '{"model":NaN}',
      '{"model":"a","n":NaN}',
      '{"model":Infinity}',
      "{'model':'gpt-4o'}",
      '{model:"gpt-4o"}',
      '{"model":"gpt-4o",}',
      '{"model":"gpt-4o"} // comment',
      '{"model":"gpt-4o"',
      '{"model":"gpt-4o"}{"model":"o3"}',
      'model=gpt-4o',
      '\ufeff{"model":"gpt-4o"}',
      ' ',
    ];
    for (const text of bad) {
      const found = json(text);
      expect(found.kind, text).toBe('unreadable');
      if (found.kind === 'unreadable') expect(found.why).toBe('the body is not valid JSON');
    }
  });

  it('invalid UTF-8 is unreadable', () => {
    const cases = [
      Buffer.concat([Buffer.from('{"model":"gpt-4o'), Buffer.from([0xff]), Buffer.from('"}')]),
      Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      // An overlong "/" and a lone surrogate encoded in UTF-8.
      Buffer.concat([Buffer.from('{"model":"a'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
      Buffer.concat([Buffer.from('{"model":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
      // Truncated multi-byte sequence at the end.
      Buffer.concat([Buffer.from('{"model":"a"}'), Buffer.from([0xe2, 0x82])]),
    ];
    for (const body of cases) expect(modelsOfBody(JSON_TYPE, body)).toEqual({ kind: 'unreadable', why: 'the body is not UTF-8 text' });
  });

  it('UTF-16 JSON is not read as JSON', () => {
    expect(kind(modelsOfBody(JSON_TYPE, Buffer.from('{"model":"gpt-4o"}', 'utf16le')))).toBe('unreadable');
  });

  it('an empty body names none, whatever its type', () => {
    for (const type of [JSON_TYPE, undefined, 'multipart/form-data; boundary=x', 'multipart/form-data', 'text/plain']) {
      expect(modelsOfBody(type, Buffer.alloc(0))).toEqual({ kind: 'none' });
    }
  });

  it('any type but multipart is still read as JSON', () => {
    const body = '{"model":"gpt-4o"}';
    for (const type of [undefined, 'text/plain', 'application/octet-stream', 'APPLICATION/JSON; charset=utf-8', 'multipart/mixed; boundary=x', 'multipart/form-datax; boundary=x']) {
      expect(json(body, type), String(type)).toEqual({ kind: 'named', models: ['gpt-4o'] });
    }
  });

  it('a form-encoded body is unreadable: its fields and its JSON could name different models', () => {
    expect(json('{"x":"&model=gpt-4o&","model":"gpt-4o-mini"}', 'application/x-www-form-urlencoded')).toEqual({ kind: 'unreadable', why: 'a form-encoded body is not accepted: send JSON' });
    expect(kind(json('model=gpt-4o', 'Application/X-WWW-Form-Urlencoded; charset=utf-8'))).toBe('unreadable');
  });
});

const BOUNDARY = '----formdata-undici-0b3f7a2c9e41';

/** A form-data part: its headers (CRLF-joined) and its content. */
function part(boundary: string, headers: string[], content: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n')]);
}

function field(boundary: string, name: string, value: string): Buffer {
  return part(boundary, [`Content-Disposition: form-data; name="${name}"`], value);
}

function close(boundary: string): Buffer {
  return Buffer.from(`--${boundary}--\r\n`);
}

function multipart(boundary: string, ...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, close(boundary)]);
}

/** Bytes of a WAV file: a header, then samples that are no UTF-8 at all and hold near-delimiters. */
function wav(): Buffer {
  const samples = Buffer.alloc(4096);
  for (let i = 0; i < samples.length; i++) samples[i] = (i * 131 + 7) & 0xff;
  return Buffer.concat([
    Buffer.from('RIFF'),
    Buffer.from([0x24, 0x10, 0, 0]),
    Buffer.from('WAVEfmt '),
    Buffer.from([0x10, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 0x10, 0]),
    Buffer.from('data'),
    samples,
    // Almost a delimiter, thrice: no CRLF before it, a CRLF and a shorter boundary, a CRLF and "--".
    Buffer.from(`--${BOUNDARY}\r\n`),
    Buffer.from(`\r\n--${BOUNDARY.slice(0, -1)}X`),
    Buffer.from('\r\n--\r\n\r\n'),
    Buffer.from([0xff, 0xfe, 0x00, 0xc3]),
  ]);
}

const MP = `multipart/form-data; boundary=${BOUNDARY}`;

describe('modelsOfBody: multipart/form-data', () => {
  it('reads the model of an audio transcription, after a binary file part', () => {
    const body = multipart(
      BOUNDARY,
      part(BOUNDARY, ['Content-Disposition: form-data; name="file"; filename="speech.wav"', 'Content-Type: audio/wav'], wav()),
      field(BOUNDARY, 'model', 'whisper-1'),
      field(BOUNDARY, 'response_format', 'verbose_json'),
      field(BOUNDARY, 'timestamp_granularities[]', 'word'),
    );
    expect(modelsOfBody(MP, body)).toEqual({ kind: 'named', models: ['whisper-1'] });
    // The model first, the file last.
    const first = multipart(BOUNDARY, field(BOUNDARY, 'model', 'gpt-4o-transcribe'), part(BOUNDARY, ['Content-Disposition: form-data; name="file"; filename="a.wav"', 'Content-Type: audio/wav'], wav()));
    expect(modelsOfBody(MP, first)).toEqual({ kind: 'named', models: ['gpt-4o-transcribe'] });
  });

  it('the model value is kept exactly (spaces, UTF-8, an empty value)', () => {
    expect(modelsOfBody(MP, multipart(BOUNDARY, field(BOUNDARY, 'model', ' whisper-1 ')))).toEqual({ kind: 'named', models: [' whisper-1 '] });
    expect(modelsOfBody(MP, multipart(BOUNDARY, field(BOUNDARY, 'model', 'modèle')))).toEqual({ kind: 'named', models: ['modèle'] });
    expect(modelsOfBody(MP, multipart(BOUNDARY, field(BOUNDARY, 'model', '')))).toEqual({ kind: 'named', models: [''] });
  });

  it('a quoted boundary, and type and parameter names in any case', () => {
    const boundary = 'quoted boundary:1';
    const body = multipart(boundary, field(boundary, 'model', 'whisper-1'));
    expect(modelsOfBody(`multipart/form-data; boundary="${boundary}"`, body)).toEqual({ kind: 'named', models: ['whisper-1'] });
    expect(modelsOfBody(`Multipart/Form-Data; charset=utf-8;BOUNDARY="${boundary}"`, body)).toEqual({ kind: 'named', models: ['whisper-1'] });
    const plain = multipart('abc', field('abc', 'model', 'whisper-1'));
    expect(modelsOfBody('multipart/form-data;boundary=abc', plain)).toEqual({ kind: 'named', models: ['whisper-1'] });
    expect(modelsOfBody('  MULTIPART/FORM-DATA ; boundary=abc ; charset=utf-8', plain)).toEqual({ kind: 'named', models: ['whisper-1'] });
  });

  it('a preamble before the first delimiter is unreadable (a JSON parser could read the body there); a line break alone is not one', () => {
    const body = Buffer.concat([Buffer.from('This is a preamble; --not-the-boundary\r\n"model"\r\n'), multipart(BOUNDARY, field(BOUNDARY, 'model', 'whisper-1'))]);
    expect(modelsOfBody(MP, body)).toEqual({ kind: 'unreadable', why: 'the multipart body does not start with its boundary' });
    const json = Buffer.from(`{"model":"gpt-4o","messages":[]}\r\n--${BOUNDARY}--\r\n`);
    expect(kind(modelsOfBody(MP, json))).toBe('unreadable');
    const crlfFirst = Buffer.concat([Buffer.from('\r\n'), multipart(BOUNDARY, field(BOUNDARY, 'model', 'whisper-1'))]);
    expect(modelsOfBody(MP, crlfFirst)).toEqual({ kind: 'named', models: ['whisper-1'] });
  });

  it('the body may start directly with --boundary', () => {
    const body = multipart(BOUNDARY, field(BOUNDARY, 'model', 'whisper-1'));
    expect(body.subarray(0, 2 + BOUNDARY.length).toString()).toBe(`--${BOUNDARY}`);
    expect(modelsOfBody(MP, body)).toEqual({ kind: 'named', models: ['whisper-1'] });
  });

  it('spaces after a delimiter and an epilogue after the close are allowed', () => {
    const body = Buffer.from(`--b \t\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--b--\r\nepilogue: name="model"\r\n`);
    expect(modelsOfBody('multipart/form-data; boundary=b', body)).toEqual({ kind: 'named', models: ['whisper-1'] });
  });

  it('two model fields give both', () => {
    const body = multipart(BOUNDARY, field(BOUNDARY, 'model', 'whisper-1'), field(BOUNDARY, 'prompt', 'x'), field(BOUNDARY, 'model', 'gpt-4o-transcribe'));
    expect(modelsOfBody(MP, body)).toEqual({ kind: 'named', models: ['whisper-1', 'gpt-4o-transcribe'] });
  });

  it('the name may be unquoted, spaced, in any parameter order, with other headers', () => {
    const variants = [
      'Content-Disposition: form-data; name=model',
      'content-disposition: form-data;name="model"',
      'CONTENT-DISPOSITION:form-data; name = "model"',
      'Content-Disposition: form-data; filename="m.txt"; name="model"',
    ];
    for (const header of variants) {
      const body = multipart(BOUNDARY, part(BOUNDARY, ['Content-Type: text/plain; charset=utf-8', header], 'whisper-1'));
      expect(modelsOfBody(MP, body), header).toEqual({ kind: 'named', models: ['whisper-1'] });
    }
  });

  it('fields named otherwise are not the model', () => {
    const body = multipart(BOUNDARY, field(BOUNDARY, 'models', 'a'), field(BOUNDARY, 'Model', 'b'), field(BOUNDARY, 'model[]', 'c'), part(BOUNDARY, ['Content-Disposition: form-data; filename="model"; name="file"'], 'd'));
    expect(modelsOfBody(MP, body)).toEqual({ kind: 'none' });
  });

  it('no model field names none (a file upload)', () => {
    const body = multipart(BOUNDARY, field(BOUNDARY, 'purpose', 'batch'), part(BOUNDARY, ['Content-Disposition: form-data; name="file"; filename="b.jsonl"', 'Content-Type: application/jsonl'], '{"model":"gpt-4o"}\n'));
    expect(modelsOfBody(MP, body)).toEqual({ kind: 'none' });
    expect(modelsOfBody(MP, close(BOUNDARY))).toEqual({ kind: 'none' });
  });

  it('an encoded name (name*=) is unreadable', () => {
    for (const header of ["Content-Disposition: form-data; name*=UTF-8''model", "Content-Disposition: form-data; name=\"x\"; name*=UTF-8''model", "Content-Disposition: form-data; name*  = utf-8''%6Dodel"]) {
      const body = multipart(BOUNDARY, part(BOUNDARY, [header], 'gpt-4o'));
      expect(kind(modelsOfBody(MP, body)), header).toBe('unreadable');
    }
  });

  it('a multipart type without a boundary is unreadable', () => {
    const body = multipart(BOUNDARY, field(BOUNDARY, 'model', 'whisper-1'));
    for (const type of ['multipart/form-data', 'multipart/form-data;', 'multipart/form-data; boundary=', 'multipart/form-data; boundary=""', 'multipart/form-data; xboundary=abc']) {
      expect(modelsOfBody(type, body), type).toEqual({ kind: 'unreadable', why: "the multipart Content-Type's boundary cannot be read" });
    }
  });

  it('a body without its delimiter is unreadable', () => {
    expect(modelsOfBody(MP, Buffer.from('{"model":"whisper-1"}'))).toEqual({ kind: 'unreadable', why: 'the multipart body does not start with its boundary' });
    const other = multipart('other', field('other', 'model', 'whisper-1'));
    expect(kind(modelsOfBody(MP, other))).toBe('unreadable');
  });

  it('an unclosed body is unreadable', () => {
    const open = Buffer.concat([field(BOUNDARY, 'model', 'whisper-1')]);
    expect(modelsOfBody(MP, open)).toEqual({ kind: 'unreadable', why: 'the multipart body is not closed' });
    const truncated = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1`);
    expect(kind(modelsOfBody(MP, truncated))).toBe('unreadable');
    const headless = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n`);
    expect(modelsOfBody(MP, headless)).toEqual({ kind: 'unreadable', why: 'a multipart part has no end of headers' });
    // The delimiter after the last part, but no closing "--".
    const unterminated = Buffer.concat([field(BOUNDARY, 'model', 'whisper-1'), Buffer.from(`--${BOUNDARY}`)]);
    expect(kind(modelsOfBody(MP, unterminated))).toBe('unreadable');
  });

  it('a malformed delimiter is unreadable', () => {
    const body = Buffer.from(`--${BOUNDARY}X\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--${BOUNDARY}--`);
    expect(modelsOfBody(MP, body)).toEqual({ kind: 'unreadable', why: 'a multipart delimiter is malformed' });
  });

  it('a part without a readable name is unreadable', () => {
    const heads: string[][] = [
      ['Content-Type: text/plain'],
      ['Content-Disposition: form-data'],
      ['Content-Disposition: form-data; filename="a.txt"'],
      ['Content-Disposition: form-data; name="model"', 'Content-Disposition: form-data; name="other"'],
      ['Content-Disposition: form-data; name="model"', 'a header line without a colon'],
      ['Content-Disposition: form-data;', ' name="model"'],
    ];
    for (const headers of heads) {
      const body = multipart(BOUNDARY, field(BOUNDARY, 'prompt', 'hi'), part(BOUNDARY, headers, 'gpt-4o'));
      expect(modelsOfBody(MP, body), headers.join(' | ')).toEqual({ kind: 'unreadable', why: 'a multipart part has no readable name' });
    }
  });

  it('a part with no headers at all is unreadable', () => {
    const body = Buffer.from(`--${BOUNDARY}\r\n\r\nwhisper-1\r\n--${BOUNDARY}--\r\n`);
    expect(kind(modelsOfBody(MP, body))).toBe('unreadable');
  });

  it('a model field or part head that is not UTF-8 is unreadable', () => {
    const badValue = multipart(BOUNDARY, part(BOUNDARY, ['Content-Disposition: form-data; name="model"'], Buffer.from([0x77, 0xff, 0x31])));
    expect(modelsOfBody(MP, badValue)).toEqual({ kind: 'unreadable', why: 'the model field is not UTF-8' });
    const badHead = Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="mod`), Buffer.from([0xff]), Buffer.from(`el"\r\n\r\nx\r\n`), close(BOUNDARY)]);
    expect(kind(modelsOfBody(MP, badHead))).toBe('unreadable');
  });
});

describe('modelsOfTarget', () => {
  it('reads every model parameter', () => {
    expect(modelsOfTarget('/v1/realtime?model=gpt-realtime')).toEqual({ kind: 'named', models: ['gpt-realtime'] });
    expect(modelsOfTarget('/v1/realtime?model=a&model=b')).toEqual({ kind: 'named', models: ['a', 'b'] });
    expect(modelsOfTarget('/v1/realtime?x=1&model=a&y=2&model=')).toEqual({ kind: 'named', models: ['a', ''] });
  });

  it('decodes percent-encoding and "+"', () => {
    expect(modelsOfTarget('/v1/realtime?model=gpt%2D4o%2Drealtime')).toEqual({ kind: 'named', models: ['gpt-4o-realtime'] });
    expect(modelsOfTarget('/v1/realtime?%6Dodel=o3')).toEqual({ kind: 'named', models: ['o3'] });
    expect(modelsOfTarget('/v1/realtime?model=a+b%20c')).toEqual({ kind: 'named', models: ['a b c'] });
  });

  it('names none without a model parameter', () => {
    expect(modelsOfTarget('/v1/realtime')).toEqual({ kind: 'none' });
    expect(modelsOfTarget('/v1/realtime?')).toEqual({ kind: 'none' });
    expect(modelsOfTarget('/v1/realtime?models=b&intent=transcription&model_x=c')).toEqual({ kind: 'none' });
  });

  it('reads model and deployment parameters in any letter case, and the model segments of Azure-style paths', () => {
    expect(modelsOfTarget('/v1/chat/completions?Model=a&DEPLOYMENT=b')).toEqual({ kind: 'named', models: ['a', 'b'] });
    expect(modelsOfTarget('/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21')).toEqual({ kind: 'named', models: ['gpt-4o'] });
    expect(modelsOfTarget('/v1/engines/davinci%2D002/completions')).toEqual({ kind: 'named', models: ['davinci-002'] });
    expect(modelsOfTarget('/openai/Deployments/a/x?model=b')).toEqual({ kind: 'named', models: ['a', 'b'] });
    expect(kind(modelsOfTarget('/openai/deployments/%E0%A4%A/chat'))).toBe('unreadable');
  });

  it('bothModels: everything either names; unreadable wins', () => {
    const a: RequestModels = { kind: 'named', models: ['a'] };
    const b: RequestModels = { kind: 'named', models: ['b'] };
    const none: RequestModels = { kind: 'none' };
    const bad: RequestModels = { kind: 'unreadable', why: 'x' };
    expect(bothModels(a, b)).toEqual({ kind: 'named', models: ['a', 'b'] });
    expect(bothModels(none, b)).toBe(b);
    expect(bothModels(a, none)).toBe(a);
    expect(bothModels(none, none)).toEqual(none);
    expect(bothModels(a, bad)).toBe(bad);
    expect(bothModels(bad, a)).toBe(bad);
  });
});

describe('modelsOfBody with modelRefusal: a limited key cannot slip a model past the list', () => {
  const policy: KeyPolicy = { name: 'erin', models: new NameList(['whisper-1', 'gpt-4o-mini']), routes: null, rpm: 0, expiresAt: 0 };
  const refused = (type: string, body: Buffer | string): boolean => modelRefusal(policy, modelsOfBody(type, Buffer.from(body))) !== null;

  it('duplicates, escapes and not-JSON are refused', () => {
    expect(refused(JSON_TYPE, '{"model":"gpt-4o-mini"}')).toBe(false);
    expect(refused(JSON_TYPE, '{"model":"gpt-4o-mini","model":"gpt-4o"}')).toBe(true);
    expect(refused(JSON_TYPE, '{"model":"gpt-4o","model":"gpt-4o-mini"}')).toBe(true);
    expect(refused(JSON_TYPE, '{"model":"gpt-4o-mini","mod\\u0065l":"gpt-4o"}')).toBe(true);
    expect(refused('text/plain', '{"model":"gpt-4o"}')).toBe(true);
    expect(refused(JSON_TYPE, '{"model":"gpt-4o-mini",}')).toBe(true);
  });

  it('a second model field in a form is refused', () => {
    expect(refused(MP, multipart(BOUNDARY, field(BOUNDARY, 'model', 'whisper-1')))).toBe(false);
    expect(refused(MP, multipart(BOUNDARY, field(BOUNDARY, 'model', 'whisper-1'), field(BOUNDARY, 'model', 'gpt-4o-transcribe')))).toBe(true);
  });

  /*
   * Parser differentials: where the gateway and the upstream's multipart parser could read a
   * different name or boundary (Python's email-based parameter parsing, used by python-multipart and
   * so by Starlette/FastAPI upstreams, honours quoted strings and keeps the last duplicate), the
   * model counts as unreadable (header-params.ts).
   */
  it('a Content-Disposition naming the part twice is refused (Python parsers keep the last name)', () => {
    const body = multipart(BOUNDARY, part(BOUNDARY, ['Content-Disposition: form-data; name="note"; name="model"'], 'gpt-4o'));
    expect(refused(MP, body)).toBe(true);
  });

  it('a "; name=" inside a quoted filename does not hide the real name', () => {
    const body = multipart(BOUNDARY, part(BOUNDARY, ['Content-Disposition: form-data; filename="a; name=note"; name="model"'], 'gpt-4o'));
    expect(refused(MP, body)).toBe(true);
  });

  it('an RFC 2231 continuation (name*0=) beside a plain name is refused', () => {
    const body = multipart(BOUNDARY, part(BOUNDARY, ['Content-Disposition: form-data; name="note"; name*0="model"'], 'gpt-4o'));
    expect(refused(MP, body)).toBe(true);
  });

  it('a Content-Type with two boundary parameters is refused', () => {
    const body = Buffer.concat([multipart('aaa', field('aaa', 'model', 'whisper-1')), multipart('bbb', field('bbb', 'model', 'gpt-4o-transcribe'))]);
    expect(refused('multipart/form-data; boundary=aaa; boundary=bbb', body)).toBe(true);
  });

  it('a "; boundary=" inside a quoted parameter does not hide the real boundary', () => {
    const body = Buffer.concat([multipart('aaa', field('aaa', 'model', 'whisper-1')), multipart('bbb', field('bbb', 'model', 'gpt-4o-transcribe'))]);
    expect(refused('multipart/form-data; x="; boundary=aaa"; boundary=bbb', body)).toBe(true);
  });

  it('an unquoted boundary longer than 70 characters is not silently truncated', () => {
    const short = 'x'.repeat(70);
    const long = 'x'.repeat(71);
    const body = Buffer.concat([multipart(short, field(short, 'model', 'whisper-1')), multipart(long, field(long, 'model', 'gpt-4o-transcribe'))]);
    expect(refused(`multipart/form-data; boundary=${long}`, body)).toBe(true);
  });

  it('a part whose transfer coding could change its value upstream, or that is no form-data, is refused', () => {
    const coded = multipart(BOUNDARY, part(BOUNDARY, ['Content-Disposition: form-data; name="model"', 'Content-Transfer-Encoding: base64'], 'Z3B0LTRv'));
    expect(refused(MP, coded)).toBe(true);
    const binary = multipart(BOUNDARY, part(BOUNDARY, ['Content-Disposition: form-data; name="model"', 'Content-Transfer-Encoding: binary'], 'whisper-1'));
    expect(refused(MP, binary)).toBe(false);
    const attachment = multipart(BOUNDARY, part(BOUNDARY, ['Content-Disposition: attachment; name="model"'], 'gpt-4o'));
    expect(refused(MP, attachment)).toBe(true);
  });
});
