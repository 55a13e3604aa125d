// anthropic_messages.mjs 0|1: @anthropic-ai/sdk 0.x (the "anthropic0" alias: sends x-api-key)
// or 1.x (sends Authorization: Bearer) as a sandboxed agent. The client reads
// ANTHROPIC_API_KEY (the phantom) and ANTHROPIC_BASE_URL (the proxy) itself. One message,
// then one streamed; prints "chunk <ms> <text>" per text delta; writes result.json.
import { writeFileSync } from 'node:fs';

const major = process.argv[2];
const { default: Anthropic } = await import(major === '0' ? 'anthropic0' : '@anthropic-ai/sdk');
const client = new Anthropic({ maxRetries: 0, timeout: 15000 });
const req = { model: 'claude-fake', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] };
const out = { baseURL: client.baseURL, chunks: [], events: [] };
try {
	const r = await client.messages.create(req);
	out.text = r.content.map((b) => b.text).join('');
	console.log(`text ${out.text}`);
	const stream = await client.messages.create({ ...req, stream: true });
	for await (const ev of stream) {
		out.events.push(ev.type);
		if (ev.type !== 'content_block_delta')
			continue;
		const c = { ms: Math.round(performance.now()), text: ev.delta.text };
		out.chunks.push(c);
		console.log(`chunk ${c.ms} ${c.text}`);
	}
} catch (e) {
	out.error = `${e.name}: ${e.status ?? ''} ${e.message}`;
	console.log(`error ${out.error}`);
}
writeFileSync('result.json', JSON.stringify(out));
