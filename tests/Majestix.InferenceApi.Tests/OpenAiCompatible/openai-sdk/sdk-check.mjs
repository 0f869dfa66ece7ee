// Drives the gateway's OpenAI-compatible surface with the official `openai` package, unchanged.
// Env: MAJESTIX_BASE_URL (…/v1), MAJESTIX_API_KEY (inf_…), MAJESTIX_MODEL. Prints one JSON summary line
// on stdout; exits non-zero on the first failed check.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = process.env.MAJESTIX_BASE_URL;
const apiKey = process.env.MAJESTIX_API_KEY;
const model = process.env.MAJESTIX_MODEL ?? 'gpt-5-mini';
assert.ok(baseURL && apiKey, 'MAJESTIX_BASE_URL and MAJESTIX_API_KEY are required');

// No retries: a retried call would hide a failure and charge twice.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });
const summary = {};

const models = await client.models.list();
const modelIds = models.data.map((m) => m.id);
assert.ok(modelIds.includes(model), `models.list offers ${model}`);
summary.models = modelIds.length;

const completion = await client.chat.completions.create({
  model,
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Say hello.' },
  ],
  max_completion_tokens: 256,
});
assert.equal(completion.object, 'chat.completion');
assert.ok(completion.id.startsWith('chatcmpl-'));
assert.equal(completion.model, model);
assert.equal(completion.choices[0].message.role, 'assistant');
assert.ok(completion.choices[0].message.content.length > 0, 'non-streaming text');
assert.equal(completion.choices[0].finish_reason, 'stop');
assert.ok(completion.usage.prompt_tokens > 0 && completion.usage.completion_tokens > 0);
assert.equal(completion.usage.total_tokens, completion.usage.prompt_tokens + completion.usage.completion_tokens);
summary.non_streaming = { text_length: completion.choices[0].message.content.length, usage: completion.usage };

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Count to five.' }],
  stream: true,
  stream_options: { include_usage: true },
});
let text = '';
let chunks = 0;
let finishReason = null;
let usage = null;
for await (const chunk of stream) {
  chunks++;
  assert.equal(chunk.object, 'chat.completion.chunk');
  const choice = chunk.choices[0];
  if (choice) {
    text += choice.delta.content ?? '';
    finishReason = choice.finish_reason ?? finishReason;
  }
  if (chunk.usage) {
    assert.equal(chunk.choices.length, 0, 'the usage chunk has no choices');
    usage = chunk.usage;
  }
}
assert.ok(text.length > 0, 'streamed text arrived');
assert.equal(finishReason, 'stop');
assert.ok(usage && usage.completion_tokens > 0, 'include_usage delivered usage');
summary.streaming = { chunks, text_length: text.length, finish_reason: finishReason, usage };

const tools = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}];
const toolAnswer = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Weather in Oslo? [[mock tool_call=get_weather]]' }],
  tools,
  tool_choice: 'auto',
});
const call = toolAnswer.choices[0].message.tool_calls?.[0];
assert.ok(call, 'a tool call came back');
assert.equal(call.type, 'function');
assert.equal(call.function.name, 'get_weather');
assert.equal(typeof JSON.parse(call.function.arguments), 'object');
assert.equal(toolAnswer.choices[0].finish_reason, 'tool_calls');

// The streaming helper assembles tool-call deltas; then the result goes back as a `tool` message.
const runner = client.chat.completions.stream({
  model,
  messages: [{ role: 'user', content: 'Weather in Oslo? [[mock tool_call=get_weather]]' }],
  tools,
});
const streamed = await runner.finalChatCompletion();
const streamedCall = streamed.choices[0].message.tool_calls?.[0];
assert.equal(streamedCall?.function.name, 'get_weather');
const followUp = await client.chat.completions.create({
  model,
  messages: [
    { role: 'user', content: 'Weather in Oslo?' },
    { role: 'assistant', content: null, tool_calls: [streamedCall] },
    { role: 'tool', tool_call_id: streamedCall.id, content: '{"temp_c": 4}' },
  ],
  tools,
});
assert.ok(followUp.choices[0].message.content.length > 0, 'answer after the tool result');
summary.tool_call = { name: call.function.name, arguments: JSON.parse(call.function.arguments), streamed_name: streamedCall.function.name };

let forbidden = null;
try {
  await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] });
} catch (error) {
  forbidden = { status: error.status, code: error.code, is_api_error: error instanceof OpenAI.APIError };
}
assert.equal(forbidden?.status, 404);
summary.unknown_model = forbidden;

console.log(JSON.stringify({ ok: true, ...summary }));
