// env_dump.mjs: what a sandboxed agent can see of its credentials. Writes its whole
// process.env to env.json and /proc/self/environ to environ.bin (or, if it cannot be read,
// the error's code to environ.err), then makes one real request through the proxy so the
// real key has been used while it runs.
import { writeFileSync, readFileSync } from 'node:fs';
import OpenAI from 'openai';

writeFileSync('env.json', JSON.stringify(process.env, null, 1));
try {
	writeFileSync('environ.bin', readFileSync('/proc/self/environ'));
} catch (e) {
	writeFileSync('environ.err', `${e.code}\n`);
}
const client = new OpenAI({ maxRetries: 0, timeout: 15000 });
try {
	const r = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] });
	console.log(`text ${r.choices[0].message.content}`);
} catch (e) {
	console.log(`error ${e.name}: ${e.status ?? ''} ${e.message}`);
}
