/** The README's configuration and error tables must match the code. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS, type SettingSpec } from '../../src/config/schema.js';
import { ERROR_CODES } from '../../src/core/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('starts with the two commands', () => {
    const firstBlock = /```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(firstBlock).toContain('npm ci && npx aifwd run');
    expect(firstBlock).toContain('npm test');
  });

  it.each(Object.entries(SETTINGS) as [string, SettingSpec][])('documents %s as the code defines it', (key, spec) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${key}\` |`));
    expect(row, `README row for ${key}`).toBeDefined();
    const cells = row!.split('|').map((c) => c.trim());
    expect(cells[2]).toBe(`\`--${spec.flag}\``);
    expect(cells[3]).toBe(spec.env.map((e) => `\`${e}\``).join(', '));
    expect(cells[4]).toBe(spec.default === undefined ? 'none' : `\`${spec.default}\``);
  });

  it('lists every error code', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      expect(readme).toContain(`| ${status} | \`${code}\` |`);
    }
  });
});
