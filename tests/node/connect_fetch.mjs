// connect_fetch.mjs URL: Node 20's global fetch through the proxy's CONNECT, as set up by
// contrib/node/nono-proxy-preload.mjs (NODE_OPTIONS). Writes result.json: status and body,
// or the error and its cause.
import { writeFileSync } from 'node:fs';

// The supervisor puts 127.0.0.1 in NO_PROXY (for the base URLs); the test's stand-in for an
// allowlisted host is on 127.0.0.1 too, so tunnel everything (undici re-reads NO_PROXY).
delete process.env.NO_PROXY;
delete process.env.no_proxy;
const out = {};
try {
	const r = await fetch(process.argv[2]);
	out.status = r.status;
	out.body = await r.text();
} catch (e) {
	out.error = `${e.name}: ${e.message}`;
	out.cause = `${e.cause?.code ?? ''} ${e.cause?.message ?? ''}`;
}
writeFileSync('result.json', JSON.stringify(out));
console.log(JSON.stringify(out));
