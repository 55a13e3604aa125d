// agent.js: the positive side under node-agent: a module from ./node_modules, a file in the
// workdir, a child process, os.cpus(), and the proxy port. Prints "AGENT <what> <result>".
'use strict';
const fs = require('fs');
const net = require('net');
const os = require('os');
const cp = require('child_process');

const lib = require('tinylib');
console.log(`AGENT module ${lib.hello()}`);

fs.writeFileSync('agent-out.txt', 'written by the agent\n');
console.log(`AGENT write ${fs.readFileSync('agent-out.txt', 'utf8') === 'written by the agent\n' ? 'ok' : 'mismatch'}`);

const ls = cp.spawnSync('ls', ['-1'], { encoding: 'utf8' });
console.log(`AGENT spawn ${ls.status === 0 && ls.stdout.split('\n').includes('agent-out.txt') ? 'ok' : `failed ${ls.status} ${ls.error || ''}`}`);

const n = os.cpus().length;
console.log(`AGENT cpus ${n > 0 ? 'ok' : 'empty'} ${n}`);

const port = Number(process.env.PROBE_PROXY_PORT || 8383);
const s = net.connect({ host: '127.0.0.1', port }, () => s.write('GET / HTTP/1.0\r\nHost: agent\r\n\r\n'));
let buf = '';
let err = 'no reply';
s.on('data', (d) => { buf += d; });
s.on('error', (e) => { err = e.code || e.message; });
s.on('close', () => {
	console.log(`AGENT proxy ${buf ? buf.split('\r\n')[0] : err}`);
	console.log('AGENT done');
});
s.setTimeout(5000, () => s.destroy(new Error('ETIMEDOUT')));
