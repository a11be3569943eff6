// Drives `garden serve` with the official `openai` npm client (the version package.json pins)
// and compares what it gets with what the garden CLI computed for the same inputs.
// Run by tests/integration/serve_test.sh:
//   node openai_client_test.mjs BASE_URL API_KEY WORK
// WORK holds texts.txt (one text a line), emb.npy and emb8.npy (`garden embed encode`, all
// and 8 dimensions), prompt.txt and generate.txt (`garden lm generate --temperature 0`).
// Prints one line per failed check and exits 1 if any failed.
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';
import { strict as assert } from 'node:assert';

const [baseURL, apiKey, work] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30000 });
let failures = 0, passes = 0;

async function check(name, fn) {
  try {
    await fn();
    passes++;
  } catch (e) {
    failures++;
    console.log(`FAIL: ${name}: ${e.stack || e}`);
  }
}

// A float32 .npy file (garden's write_npy) as an array of rows.
function readNpy(path) {
  const buf = readFileSync(path);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString('latin1');
  assert.match(header, /'descr': '<f4'/);
  const shape = header.match(/'shape': \((\d+), (\d+)\)/).slice(1).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + headerLen, buf.byteOffset + buf.length));
  const rows = [];
  for (let i = 0; i < shape[0]; i++) rows.push(Array.from(data.subarray(i * shape[1], (i + 1) * shape[1])));
  return rows;
}

function expectClose(got, want, tolerance, what) {
  assert.equal(got.length, want.length, `${what}: ${got.length} rows, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i].length, want[i].length, `${what}: row ${i} has ${got[i].length} dimensions`);
    for (let j = 0; j < want[i].length; j++)
      assert.ok(Math.abs(got[i][j] - want[i][j]) <= tolerance, `${what}: [${i}][${j}] ${got[i][j]} vs ${want[i][j]}`);
  }
}

// The typed exception a call throws.
async function thrown(fn) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('no exception');
}

const texts = readFileSync(`${work}/texts.txt`, 'utf8').split('\n').filter((t) => t.length > 0);
const prompt = readFileSync(`${work}/prompt.txt`, 'utf8');
const generated = readFileSync(`${work}/generate.txt`, 'utf8');
const maxTokens = 12;

await check('models.list names the LM and the embedder', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids.sort(), ['emb', 'lm']);
  assert.equal((await client.models.retrieve('lm')).object, 'model');
});

// The client asks for base64 by default and decodes it; float is asked for explicitly.
await check('embeddings equal garden embed encode (base64 and float)', async () => {
  const want = readNpy(`${work}/emb.npy`);
  const b64 = await client.embeddings.create({ model: 'emb', input: texts });
  expectClose(b64.data.map((d) => d.embedding), want, 1e-5, 'base64');
  const floats = await client.embeddings.create({ model: 'emb', input: texts, encoding_format: 'float' });
  expectClose(floats.data.map((d) => d.embedding), want, 1e-5, 'float');
  assert.ok(floats.usage.prompt_tokens > texts.length);
  const one = await client.embeddings.create({ model: 'emb', input: texts[1], encoding_format: 'float' });
  expectClose([one.data[0].embedding], [want[1]], 1e-5, 'single string');
});

await check('dimensions gives the Matryoshka prefix of garden embed encode --dims', async () => {
  const r = await client.embeddings.create({ model: 'emb', input: texts, dimensions: 8, encoding_format: 'float' });
  expectClose(r.data.map((d) => d.embedding), readNpy(`${work}/emb8.npy`), 1e-5, 'dims 8');
});

await check('token-array input embeds as its text (the byte tokenizer: ids are bytes)', async () => {
  const ids = Array.from(Buffer.from(texts[0], 'utf8'));
  const r = await client.embeddings.create({ model: 'emb', input: [ids], encoding_format: 'float' });
  expectClose([r.data[0].embedding], [readNpy(`${work}/emb.npy`)[0]], 1e-5, 'tokens');
});

await check('concurrent embedding requests each get their own vectors', async () => {
  const want = readNpy(`${work}/emb.npy`);
  const all = await Promise.all(
    texts.map((t) => client.embeddings.create({ model: 'emb', input: t, encoding_format: 'float' })));
  expectClose(all.map((r) => r.data[0].embedding), want, 1e-5, 'concurrent');
});

let completionText = '';
await check('greedy completion equals garden lm generate', async () => {
  const r = await client.completions.create({ model: 'lm', prompt, max_tokens: maxTokens, temperature: 0 });
  completionText = r.choices[0].text;
  assert.equal(prompt + completionText + '\n', generated);
  assert.equal(r.object, 'text_completion');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.prompt_tokens, Buffer.byteLength(prompt) + 1);  // bytes + BOS
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

await check('streamed completion delivers the same text, then usage', async () => {
  const stream = await client.completions.create({
    model: 'lm', prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = '', usage = null, finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, completionText);
  assert.ok(finish);
  assert.ok(usage && usage.completion_tokens > 0);
});

await check('concurrent completions (more than --max-generations) all equal the greedy one', async () => {
  const all = await Promise.all([0, 1, 2, 3, 4].map(() =>
    client.completions.create({ model: 'lm', prompt, max_tokens: maxTokens, temperature: 0 })));
  for (const r of all) assert.equal(r.choices[0].text, completionText);
});

await check('n samples with a seed are repeatable; stop ends the text before it', async () => {
  const ask = () => client.completions.create({ model: 'lm', prompt, max_tokens: 8, temperature: 1, seed: 7, n: 3 });
  const [a, b] = [await ask(), await ask()];
  assert.equal(a.choices.length, 3);
  assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
  if (completionText.length > 2) {
    const stop = completionText.slice(1, 2);
    const r = await client.completions.create({ model: 'lm', prompt, max_tokens: maxTokens, temperature: 0, stop: [stop] });
    assert.equal(r.choices[0].text, completionText.slice(0, completionText.indexOf(stop)));
    assert.equal(r.choices[0].finish_reason, 'stop');
  }
});

let chatText = null;
await check('chat completion answers with the assistant role', async () => {
  const r = await client.chat.completions.create({
    model: 'lm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'the cat' }],
    max_tokens: maxTokens, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  chatText = r.choices[0].message.content;
  assert.ok(r.usage.prompt_tokens > 0);
});

await check('streamed chat delivers the same text', async () => {
  const stream = await client.chat.completions.create({
    model: 'lm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'the cat' }],
    max_tokens: maxTokens, temperature: 0, stream: true });
  let text = '', role = null;
  for await (const chunk of stream)
    for (const c of chunk.choices) {
      if (c.delta.role) role = c.delta.role;
      if (c.delta.content) text += c.delta.content;
    }
  assert.equal(role, 'assistant');
  assert.equal(text, chatText);
});

// The test model's context (64 tokens) is shorter than the tool protocol's prompt, so the
// request is checked to be read as a tool chat (it fails only on length, the protocol's text
// counted); the reply's shape is unit-tested (tests/unit/serve/api_test.cpp).
await check('chat with tools: tool messages read, the protocol prompt counted, required refused', async () => {
  const tools = [{ type: 'function', function: { name: 'search', description: 'Search the notes.', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];
  const messages = [
    { role: 'user', content: 'Find the mayor.' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search', arguments: '{"q":"mayor"}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: 'Ana Ortiz is the mayor.' },
  ];
  const promptTokens = async (extra) => {
    const e = await thrown(() => client.chat.completions.create({ model: 'lm', messages, tools, max_tokens: 4, ...extra }));
    assert.ok(e instanceof OpenAI.BadRequestError, `${JSON.stringify(extra)}: ${e}`);
    return Number(e.message.match(/maximum context length is 64 tokens.*\((\d+) in the prompt/)[1]);
  };
  const withTools = await promptTokens({}), without = await promptTokens({ tool_choice: 'none' });
  assert.ok(withTools > without + 100, `the protocol prompt: ${withTools} tokens with tools, ${without} without`);
  const forced = await thrown(() => client.chat.completions.create({ model: 'lm', messages, tools, tool_choice: 'required' }));
  assert.ok(forced instanceof OpenAI.BadRequestError, `tool_choice: ${forced}`);
  assert.equal(forced.param, 'tool_choice');
});

await check('errors come back as the client\'s typed exceptions', async () => {
  const unknown = await thrown(() => client.completions.create({ model: 'nope', prompt: 'x' }));
  assert.ok(unknown instanceof OpenAI.NotFoundError, `unknown model: ${unknown}`);
  assert.equal(unknown.code, 'model_not_found');
  const hot = await thrown(() => client.completions.create({ model: 'lm', prompt: 'x', temperature: 5 }));
  assert.ok(hot instanceof OpenAI.BadRequestError, `temperature: ${hot}`);
  assert.equal(hot.param, 'temperature');
  const typed = await thrown(() => client.embeddings.create({ model: 'emb', input: 42 }));
  assert.ok(typed instanceof OpenAI.BadRequestError, `input type: ${typed}`);
  const long = await thrown(() => client.completions.create({ model: 'lm', prompt: 'x'.repeat(100), max_tokens: 10 }));
  assert.ok(long instanceof OpenAI.BadRequestError, `context: ${long}`);
  assert.equal(long.code, 'context_length_exceeded');
  const longEmbed = await thrown(() => client.embeddings.create({ model: 'emb', input: 'y'.repeat(500) }));
  assert.equal(longEmbed.code, 'context_length_exceeded');
  const wrongKind = await thrown(() => client.embeddings.create({ model: 'lm', input: 'x' }));
  assert.ok(wrongKind instanceof OpenAI.BadRequestError, `LM for embeddings: ${wrongKind}`);
  const big = await thrown(() => client.embeddings.create({ model: 'emb', input: ['z'.repeat(40000), 'z'.repeat(40000)] }));
  assert.ok(big instanceof OpenAI.APIError && big.status === 413, `body too large: ${big}`);
  const badKey = new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 });
  const denied = await thrown(() => badKey.models.list());
  assert.ok(denied instanceof OpenAI.AuthenticationError, `wrong key: ${denied}`);
  assert.equal(denied.code, 'invalid_api_key');
});

console.log(`openai client: ${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
