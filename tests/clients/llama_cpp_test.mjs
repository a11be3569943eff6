// llama.cpp (through node-llama-cpp's prebuilt binaries) runs a GGUF exported by
// `garden export gguf` and must agree with garden on the same prompts:
//   * tokenizer: BOS + llama.cpp's tokenization of the prompt equals garden's prompt tokens;
//   * greedy decoding with llama.cpp's own sampler (temperature 0) gives garden's tokens;
//   * teacher-forced on garden's tokens, llama.cpp's next-token log-probabilities equal
//     garden's top ones to within `tolerance`, and its argmax is garden's token at each step.
// Usage: node llama_cpp_test.mjs MODEL.gguf CASES.json TOLERANCE exact|defaults
//   CASES.json: [{prompt, prompt_tokens, tokens, top_logprobs}], from `garden lm generate --json`.
//   exact: attention in f32 (an f32 kv-cache, no flash attention), as garden computes it;
//   defaults: llama.cpp's own defaults (f16 kv-cache; flash attention, which rounds to f16 on
//   the CPU), each of which alone moves log-probabilities by about 1e-3.
import fs from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, casesPath, toleranceText, mode] = process.argv.slice(2);
if (mode !== "exact" && mode !== "defaults") throw new Error(`mode must be exact or defaults, got ${mode}`);
const tolerance = Number(toleranceText);
const cases = JSON.parse(fs.readFileSync(casesPath, "utf8"));
let failures = 0;
const check = (ok, what) => {
  if (ok) return;
  failures++;
  console.log(`FAIL: ${what}`);
};

const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath});
const exact = {experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", flashAttention: false};
const context = await model.createContext({contextSize: 64, sequences: 1, threads: 1, ...(mode === "exact" ? exact : {})});
const sequence = context.getSequence();
let worst = 0;
let compared = 0;
for (const c of cases) {
  const promptTokens = [model.tokens.bos, ...model.tokenize(c.prompt)];
  check(JSON.stringify(promptTokens) === JSON.stringify(c.prompt_tokens),
        `tokens of ${JSON.stringify(c.prompt)}: llama.cpp ${promptTokens}, garden ${c.prompt_tokens}`);

  // llama.cpp's own greedy sampler.
  await sequence.clearHistory();
  const greedy = [];
  for await (const token of sequence.evaluate(c.prompt_tokens, {temperature: 0})) {
    greedy.push(token);
    if (greedy.length >= c.tokens.length) break;
  }
  check(JSON.stringify(greedy) === JSON.stringify(c.tokens),
        `greedy continuation of ${JSON.stringify(c.prompt)}: llama.cpp ${greedy}, garden ${c.tokens}`);

  // Teacher-forced on garden's tokens: the full distribution at each generated position.
  await sequence.clearHistory();
  const input = [...c.prompt_tokens, ...c.tokens.slice(0, -1)];
  const firstGenerated = c.prompt_tokens.length - 1;
  const items = input.map((token, i) => (i >= firstGenerated ? [token, {generateNext: {probabilities: true}}] : token));
  const results = await sequence.controlledEvaluate(items);
  for (let step = 0; step < c.tokens.length; step++) {
    const probabilities = results[firstGenerated + step].next.probabilities;
    let best = -1, bestP = -1;
    for (const [token, p] of probabilities) if (p > bestP) [best, bestP] = [token, p];
    check(best === c.tokens[step], `${JSON.stringify(c.prompt)} step ${step}: llama.cpp's argmax ${best}, garden's token ${c.tokens[step]}`);
    for (const {token, logprob} of c.top_logprobs[step]) {
      const theirs = Math.log(probabilities.get(token) ?? 0);
      const diff = Math.abs(theirs - logprob);
      worst = Math.max(worst, diff);
      compared++;
      check(diff <= tolerance, `${JSON.stringify(c.prompt)} step ${step} token ${token}: log p ${theirs} (llama.cpp) vs ${logprob} (garden)`);
    }
  }
}
console.log(`llama.cpp (${mode}): ${cases.length} prompts, ${compared} log-probabilities, largest difference ${worst.toExponential(2)} (tolerance ${tolerance})`);
await context.dispose();
await model.dispose();
await llama.dispose();
process.exit(failures ? 1 : 0);
