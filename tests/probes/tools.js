// tools.js: Node.js inside the sandbox (fetch, net, dgram, dns, child_process, fs); prints
// "PROBE <name> <result>" like nono-probe. Run by test_probes.sh under node-agent, only after
// nono-probe's `netif` showed a netns with only lo.
'use strict';
const fs = require('fs');
const net = require('net');
const dgram = require('dgram');
const dns = require('dns');
const os = require('os');
const cp = require('child_process');

const HOST_PORT = Number(process.env.PROBE_HOST_PORT);
const UDP_PORT = Number(process.env.PROBE_UDP_PORT);
const PROXY = Number(process.env.PROBE_PROXY_PORT || 8383);
const HOME = process.env.PROBE_HOME;

function report(name, result) {
	console.log(`PROBE ${name} ${result}`);
}

function code(e) {
	let c = e;
	while (c && !c.code && c.cause)
		c = c.cause;
	return (c && c.code) || (e && e.name) || 'ERROR';
}

function withTimeout(p, ms) {
	return Promise.race([p, new Promise((resolve) => setTimeout(() => resolve('ETIMEDOUT'), ms))]);
}

async function fetchProbe(name, url) {
	try {
		const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
		await r.text();
		return `HTTP_${r.status}`;
	} catch (e) {
		return code(e);
	}
}

function connectProbe(host, port) {
	return new Promise((resolve) => {
		const s = net.connect({ host, port });
		s.on('connect', () => { s.destroy(); resolve('ok'); });
		s.on('error', (e) => resolve(code(e)));
	});
}

function udpProbe(host, port, type) {
	return new Promise((resolve) => {
		const s = dgram.createSocket(type);
		const done = (r) => { try { s.close(); } catch (e) { /* closed */ } resolve(r); };
		s.on('message', () => done('ok'));
		s.on('error', (e) => done(code(e)));
		s.connect(port, host, (err) => {
			if (err)
				return done(code(err));
			s.send('probe', (e) => { if (e) done(code(e)); });
		});
		setTimeout(() => done('ETIMEDOUT'), 1500);
	});
}

function fsProbe(fn) {
	try {
		fn();
		return 'ok';
	} catch (e) {
		return code(e);
	}
}

async function main() {
	report('node_fetch_host', await fetchProbe('host', `http://127.0.0.1:${HOST_PORT}/`));
	report('node_fetch_unrouted', await fetchProbe('unrouted', `http://192.0.2.1:${PROXY}/`));
	report('node_fetch_proxy', await fetchProbe('proxy', `http://127.0.0.1:${PROXY}/`));
	report('node_fetch_public', await fetchProbe('public', 'https://example.com/'));
	report('node_net_host', await withTimeout(connectProbe('127.0.0.1', HOST_PORT), 5000));
	report('node_net_host6', await withTimeout(connectProbe('::1', HOST_PORT), 5000));
	report('node_net_proxy', await withTimeout(connectProbe('127.0.0.1', PROXY), 5000));
	report('node_dgram_host', await udpProbe('127.0.0.1', UDP_PORT, 'udp4'));
	report('node_dgram_remote', await udpProbe('192.0.2.1', 53, 'udp4'));
	report('node_dns', await withTimeout(new Promise((resolve) =>
		dns.lookup('example.com', (e) => resolve(e ? code(e) : 'ok'))), 10000));
	const ls = cp.spawnSync('ls', ['.'], { encoding: 'utf8', timeout: 5000 });
	report('node_spawn_ls', ls.error ? code(ls.error) : ls.status === 0 ? 'ok' : `EXIT_${ls.status}`);
	const cat = cp.spawnSync('cat', [`${HOME}/.ssh/id_rsa`], { encoding: 'utf8', timeout: 5000 });
	report('node_spawn_cat_ssh', cat.status === 0 ? 'ok' :
		/Permission denied/.test(cat.stderr) ? 'EACCES' : `EXIT_${cat.status}`);
	report('node_read_ssh', fsProbe(() => fs.readFileSync(`${HOME}/.ssh/id_rsa`)));
	report('node_read_shadow', fsProbe(() => fs.readFileSync('/etc/shadow')));
	report('node_write_bashrc', fsProbe(() => fs.appendFileSync(`${HOME}/.bashrc`, '')));
	report('node_readdir_root', fsProbe(() => fs.readdirSync('/')));
	report('node_cpus', os.cpus().length > 0 ? 'ok' : 'EMPTY');
	const sib = Number(process.env.PROBE_SIBLING_PID);
	report('node_kill_sibling', fsProbe(() => process.kill(sib, 0)));
	console.log('PROBES done tools.js');
}

main().catch((e) => { console.log(`PROBE node_main ${code(e)}`); process.exitCode = 1; });
