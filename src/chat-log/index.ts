/**
 * The chat log (DESIGN §6): record every chat exchange, never delay or fail one, flush on shutdown;
 * and `aifwd convert`. Wiring:
 *
 * - single process: `const log = createChatLog({ dir, rotateSize, mode: 'file' })`, pass `log.hook`
 *   to the gateway; on shutdown close the server first, then `await log.close()`.
 * - cluster primary: `attachChatLogPrimary({ dir, rotateSize })`; close it after every worker
 *   has disconnected. Workers send bytes: fork them with `serialization: 'advanced'`.
 * - cluster worker: `createChatLog({ dir, rotateSize, mode: 'worker' })`, same as a single process.
 */
export { type ChatLog, type ChatLogOptions, type ChatLogStats, createChatLog } from './chat-log.js';
export { type ChatLogPrimary, type ChatLogPrimaryOptions, attachChatLogPrimary, type WorkerMessageSource } from './primary.js';
export { ConvertError, type ConvertOptions, type ConvertReport, convertChatLog } from './convert.js';
export { runConvert, type RunConvertOptions } from './convert-command.js';
export type { ConvertFormat } from './convert-format.js';
export { CHAT_LOG_MESSAGE_TYPE, type ChatLogMessage, isChatLogMessage } from './ipc.js';
