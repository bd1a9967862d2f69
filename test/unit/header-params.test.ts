/** Header parameters read strictly: what could be read two ways is not read at all. */
import { describe, expect, it } from 'vitest';
import { hasExtendedForm, headerParams } from '../../src/core/header-params.js';

const params = (value: string): Record<string, string> | null => {
  const parsed = headerParams(value);
  return parsed === null ? null : { type: parsed.type, ...Object.fromEntries(parsed.params) };
};

describe('headerParams', () => {
  it('reads the type and token or quoted values, names lower-cased', () => {
    expect(params('multipart/form-data; boundary=----abc123')).toEqual({ type: 'multipart/form-data', boundary: '----abc123' });
    expect(params('Form-Data ;Name="model" ; filename="a b; c.wav";')).toEqual({ type: 'form-data', name: 'model', filename: 'a b; c.wav' });
    expect(params('form-data')).toEqual({ type: 'form-data' });
    expect(params('form-data; name = "model"')).toEqual({ type: 'form-data', name: 'model' });
  });

  it('a ";" inside a quoted string starts no parameter', () => {
    expect(params('form-data; filename="a; name=note"; name="model"')).toEqual({ type: 'form-data', filename: 'a; name=note', name: 'model' });
  });

  it.each([
    ['form-data; name="a"; name="b"', 'a name twice'],
    ['form-data; NAME=a; name=b', 'a name twice, in two cases'],
    ['form-data; name="model', 'an unclosed quote'],
    ['form-data; name=', 'no value'],
    ['form-data; name model', 'no "="'],
    ['form-data name=model', 'no ";"'],
    ['form-data; name=a b', 'a space inside a token'],
    ['form-data; name="a\u0001"', 'a control character'],
    ['form-data; filename="a \\"b\\""; name="model"', 'an escaped quote'],
    // python-multipart reads \\" as an escaped quote too: here it finds name=model, a reader
    // honouring the escaped backslash finds name "b; name=model; y=".
    ['form-data; x="a\\\\"; name="b; name=model; y="', 'an escaped backslash'],
    ['; name=a', 'no type'],
  ])('%j is not read (%s)', (value) => {
    expect(headerParams(value)).toBeNull();
  });

  it('RFC 2231 forms keep their star, so a caller can refuse them', () => {
    const parsed = headerParams(`form-data; name="note"; name*0="model"; filename*=UTF-8''a.wav`);
    expect(parsed).not.toBeNull();
    expect(hasExtendedForm(parsed!.params, 'name')).toBe(true);
    expect(hasExtendedForm(parsed!.params, 'filename')).toBe(true);
    expect(hasExtendedForm(headerParams('form-data; name="model"; filename="x"')!.params, 'name')).toBe(false);
  });
});
