// Drives /v1/responses with the official OpenAI JS SDK (npm openai) and prints one JSON line per case.
// Usage: node responses_sdk.mjs <path to the openai package> ; env OPENAI_BASE_URL, OPENAI_API_KEY, MODEL.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const { default: OpenAI } = await import(pathToFileURL(path.join(process.argv[2], 'index.mjs')).href);
const client = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY, timeout: 60_000, maxRetries: 0 });
const model = process.env.MODEL;
const citySchema = JSON.parse(process.env.CITY_SCHEMA);
const personSchema = JSON.parse(process.env.PERSON_SCHEMA);
const out = (name, value) => console.log(JSON.stringify({ name, ...value }));

const text = await client.responses.create({ model, input: 'Tell me a story', max_output_tokens: 16, temperature: 0 });
out('text', { id: text.id, object: text.object, status: text.status, output_text: text.output_text, usage: text.usage });

const whole = await client.responses.create({ model, input: 'Once upon a time', max_output_tokens: 24, temperature: 0 });
const stream = await client.responses.create({ model, input: 'Once upon a time', max_output_tokens: 24, temperature: 0, stream: true });
const types = [];
const sequence = [];
let streamed = '';
for await (const event of stream) {
  types.push(event.type);
  sequence.push(event.sequence_number);
  if (event.type === 'response.output_text.delta') streamed += event.delta;
}
out('stream', { whole: whole.output_text, streamed, types, sequence });

const call = await client.responses.create({
  model, input: 'Weather in Paris?', max_output_tokens: 100, temperature: 0,
  tools: [{ type: 'function', name: 'get_weather', description: 'Weather in a city', parameters: citySchema, strict: true }],
  tool_choice: { type: 'function', name: 'get_weather' },
});
out('function_call', { output: call.output });

const json = await client.responses.create({
  model, input: 'Describe a person', max_output_tokens: 200, temperature: 0,
  text: { format: { type: 'json_schema', name: 'person', schema: personSchema, strict: true } },
});
out('json_schema', { status: json.status, output_text: json.output_text });

const first = await client.responses.create({ model, input: 'Once upon a time there was a little dog who lived in a big red house by the sea', max_output_tokens: 8, temperature: 0 });
const second = await client.responses.create({ model, input: 'What happened next?', previous_response_id: first.id, max_output_tokens: 8, temperature: 0 });
out('two_turns', { first: first.usage, second: second.usage, previous: second.previous_response_id, first_id: first.id });
