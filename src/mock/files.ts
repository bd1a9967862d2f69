/**
 * `POST /v1/files`: a multipart/form-data upload with a `file` part and a `purpose` field,
 * answered with a `file` object. It also carries a non-standard `sha256` of the uploaded bytes so
 * tests can check that a gateway relayed the upload intact. Parsing buffers the whole body (it is a
 * mock, uploads are not its hot path) and uses the platform's multipart parser.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { invalidParamError } from './errors.js';
import { mockId, unixSeconds } from './ids.js';
import { sendError, sendJson, type MockExchange } from './reply.js';

/** The answer to an upload. */
export interface MockFileObject {
  readonly id: string;
  readonly object: 'file';
  readonly bytes: number;
  readonly created_at: number;
  readonly expires_at: null;
  readonly filename: string;
  readonly purpose: string;
  readonly status: 'processed';
  readonly status_details: null;
  /** Not in OpenAI's API: hex SHA-256 of the uploaded file part. */
  readonly sha256: string;
}

async function parseUpload(ex: MockExchange): Promise<MockFileObject | string> {
  const contentType = ex.req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    return 'Expected a multipart/form-data body with a "file" part.';
  }
  let form: FormData;
  try {
    form = await new Request('http://mock.invalid/v1/files', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: ex.body,
    }).formData();
  } catch {
    return 'Could not parse the multipart/form-data body.';
  }
  const file = form.get('file');
  if (file === null || typeof file === 'string') return "'file' is a required part and must be a file.";
  const purpose = form.get('purpose');
  if (typeof purpose !== 'string' || purpose === '') return "'purpose' is a required field.";
  const bytes = Buffer.from(await file.arrayBuffer());
  return {
    id: mockId('file-'),
    object: 'file',
    bytes: bytes.length,
    created_at: unixSeconds(),
    expires_at: null,
    filename: 'name' in file && typeof file.name === 'string' ? file.name : 'upload',
    purpose,
    status: 'processed',
    status_details: null,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** Handles `POST /v1/files` with an already buffered body. */
export function handleUpload(ex: MockExchange): void {
  parseUpload(ex).then(
    (result) => {
      if (typeof result === 'string') sendError(ex, invalidParamError(result, 'file'));
      else sendJson(ex, 200, result);
    },
    () => sendError(ex, invalidParamError('Could not read the uploaded file.', 'file')),
  );
}
