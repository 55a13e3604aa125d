// token.mjs MODE FILE: phantom tokens used where they do not belong.
//   publish FILE   write this session's OPENAI_API_KEY to FILE, then stay up
//   use FILE       wait (10 s) for FILE, then call OPENAI_BASE_URL/chat/completions once with the
//                  token in FILE and once with this session's own; write result.json
//   replay FILE    publish if FILE does not exist yet, else use
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode, file] = process.argv.slice(2);
const own = process.env.OPENAI_API_KEY;

async function call(token) {
	const r = await fetch(`${process.env.OPENAI_BASE_URL}/chat/completions`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
		body: JSON.stringify({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] }),
	});
	return { status: r.status, body: await r.text() };
}

if (mode === 'publish' || (mode === 'replay' && !existsSync(file))) {
	writeFileSync(`${file}.tmp`, own);
	renameSync(`${file}.tmp`, file);
	console.log('published');
	setInterval(() => {}, 1 << 30);
} else {
	for (let i = 0; i < 200 && !existsSync(file); i++)
		await sleep(50);
	const other = readFileSync(file, 'utf8');
	const out = { same: other === own, other: await call(other), own: await call(own) };
	writeFileSync('result.json', JSON.stringify(out));
	console.log(`other=${out.other.status} own=${out.own.status}`);
}
