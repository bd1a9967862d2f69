/**
 * `POST /v1/responses`: the `response` object, or with `"stream": true` the Responses API event
 * stream with its real event names, each `event: <type>` + `data: {"type", "sequence_number", …}`:
 * `response.created`, `response.in_progress`, then per output item `response.output_item.added`,
 * its parts and deltas (`response.reasoning_summary_text.delta`, `response.output_text.delta`,
 * `response.function_call_arguments.delta`), `response.output_item.done`, and finally
 * `response.completed` carrying the full response with usage.
 */
import type { JsonObject } from './body.js';
import { sendJson, type MockExchange } from './reply.js';
import {
  completedItem, outputText, planResponse, responseObject, type ItemPlan, type ResponsePlan,
} from './response-object.js';
import { TOOL_ARGUMENT_PIECES, TOOL_ARGUMENTS } from './script.js';
import { sendSse, type FrameKind, type SseFrame } from './sse.js';

/** Accumulates frames with increasing `sequence_number`s. */
class EventList {
  readonly frames: SseFrame[] = [];
  private sequence = 0;

  emit(kind: FrameKind, type: string, fields: Record<string, unknown>): void {
    const data = JSON.stringify({ type, sequence_number: this.sequence++, ...fields });
    this.frames.push({ kind, event: type, data });
  }
}

function reasoningEvents(events: EventList, item: ItemPlan & { type: 'reasoning' }, output_index: number): void {
  const at = { item_id: item.id, output_index, summary_index: 0 };
  const text = item.pieces.join('');
  events.emit('meta', 'response.output_item.added', { output_index, item: { id: item.id, type: 'reasoning', summary: [] } });
  events.emit('meta', 'response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } });
  for (const delta of item.pieces) events.emit('delta', 'response.reasoning_summary_text.delta', { ...at, delta });
  events.emit('meta', 'response.reasoning_summary_text.done', { ...at, text });
  events.emit('meta', 'response.reasoning_summary_part.done', { ...at, part: { type: 'summary_text', text } });
}

function messageEvents(events: EventList, item: ItemPlan & { type: 'message' }, output_index: number): void {
  const at = { item_id: item.id, output_index, content_index: 0 };
  const text = item.pieces.join('');
  events.emit('meta', 'response.output_item.added', {
    output_index,
    item: { id: item.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
  });
  events.emit('meta', 'response.content_part.added', { ...at, part: outputText('') });
  for (const delta of item.pieces) events.emit('delta', 'response.output_text.delta', { ...at, delta, logprobs: [] });
  events.emit('meta', 'response.output_text.done', { ...at, text, logprobs: [] });
  events.emit('meta', 'response.content_part.done', { ...at, part: outputText(text) });
}

function functionCallEvents(events: EventList, item: ItemPlan & { type: 'function_call' }, output_index: number): void {
  const at = { item_id: item.id, output_index };
  events.emit('meta', 'response.output_item.added', {
    output_index,
    item: { id: item.id, type: 'function_call', status: 'in_progress', arguments: '', call_id: item.callId, name: item.name },
  });
  for (const delta of TOOL_ARGUMENT_PIECES) events.emit('delta', 'response.function_call_arguments.delta', { ...at, delta });
  events.emit('meta', 'response.function_call_arguments.done', { ...at, name: item.name, arguments: TOOL_ARGUMENTS });
}

/** The frames of a streamed response, in order. */
export function responseFrames(plan: ResponsePlan): SseFrame[] {
  const events = new EventList();
  const started = responseObject(plan, 'in_progress');
  events.emit('meta', 'response.created', { response: started });
  events.emit('meta', 'response.in_progress', { response: started });
  plan.items.forEach((item, index) => {
    switch (item.type) {
      case 'reasoning': reasoningEvents(events, item, index); break;
      case 'message': messageEvents(events, item, index); break;
      case 'function_call': functionCallEvents(events, item, index); break;
    }
    events.emit('meta', 'response.output_item.done', { output_index: index, item: completedItem(item) });
  });
  events.emit('tail', 'response.completed', { response: responseObject(plan, 'completed') });
  return events.frames;
}

/** Handles `POST /v1/responses` with an already parsed body. */
export function handleResponses(ex: MockExchange, body: JsonObject): void {
  const plan = planResponse(ex, body);
  if (body.stream === true) sendSse(ex, responseFrames(plan));
  else sendJson(ex, 200, responseObject(plan, 'completed'));
}
