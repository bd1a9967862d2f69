/**
 * Masked forms of secrets. Every place that names a key (banner, logs, errors) goes through here,
 * so a full key can never be printed by accident: `sk-abcd…wxyz`.
 */
/**
 * A name read where a setting's name belongs (a config file's key, a policy's field), for a
 * message: as it is when it looks like one, masked otherwise, since a YAML slip can put a key
 * there (`- fk-...:`).
 */
export function shownName(name: string): string {
  return /^[a-z_]{1,32}$/i.test(name) ? name : maskSecret(name);
}

/**
 * `text` with the credentials of any URL in it masked (`https://user:pass@host` →
 * `https://****@host`): a proxy or base URL in a message must not show its password.
 */
export function maskUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi, '$1****@');
}

/** Secrets shorter than this are not looked for in text: masking every "abc" would garble it. */
const SHORTEST_SOUGHT = 8;

/**
 * `text` with every occurrence of each of `secrets` masked: for text from outside that may quote a
 * key, such as an upstream's error (`Incorrect API key provided: …`).
 */
export function maskSecretsIn(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= SHORTEST_SOUGHT && out.includes(secret)) out = out.replaceAll(secret, maskSecret(secret));
  }
  return out;
}

export function maskSecret(secret: string): string {
  if (secret.length <= 8) return '*'.repeat(Math.max(secret.length, 3));
  // Real keys are 40+ characters: nine of them name the key and reveal nothing usable. A short
  // secret (a test key, a home-made forward key) shows at most a quarter of itself.
  if (secret.length < 24) return `${secret.slice(0, Math.floor(secret.length / 8))}…${secret.slice(-Math.floor(secret.length / 8))}`;
  const head = secret.startsWith('sk-') ? secret.slice(0, 5) : secret.slice(0, 2);
  return `${head}…${secret.slice(-4)}`;
}
