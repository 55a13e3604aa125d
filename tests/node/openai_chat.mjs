// openai_chat.mjs: the openai 6 SDK as a sandboxed agent. The client is built with no key or
// base URL: it reads OPENAI_API_KEY (the phantom) and OPENAI_BASE_URL (the proxy) itself.
// One chat completion, then one streamed; prints "chunk <ms> <text>" as each chunk arrives
// and writes everything to result.json in the working directory.
import { writeFileSync } from 'node:fs';
import OpenAI from 'openai';

const client = new OpenAI({ maxRetries: 0, timeout: 15000 });
const messages = [{ role: 'user', content: 'hello' }];
const out = { baseURL: client.baseURL, chunks: [] };
try {
	const r = await client.chat.completions.create({ model: 'gpt-fake', messages });
	out.text = r.choices[0].message.content;
	console.log(`text ${out.text}`);
	const stream = await client.chat.completions.create({ model: 'gpt-fake', messages, stream: true });
	for await (const chunk of stream) {
		const c = { ms: Math.round(performance.now()), text: chunk.choices[0]?.delta?.content ?? '' };
		out.chunks.push(c);
		console.log(`chunk ${c.ms} ${c.text}`);
	}
} catch (e) {
	out.error = `${e.name}: ${e.status ?? ''} ${e.message}`;
	console.log(`error ${out.error}`);
}
writeFileSync('result.json', JSON.stringify(out));
