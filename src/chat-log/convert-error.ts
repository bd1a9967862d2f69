/**
 * The error of `aifwd convert` the user must fix (missing log, bad `--format`, unwritable target).
 * Its own tiny module so the CLI can catch it without loading the converter for `aifwd run`.
 */

/** A failure of `aifwd convert`; the message is one line (the CLI prints `aifwd: <message>`, exit 2). */
export class ConvertError extends Error {
  override readonly name = 'ConvertError';
}
