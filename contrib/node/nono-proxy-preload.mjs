// nono-proxy-preload: make Node 20's global fetch honour HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
//
// Node 20's built-in fetch ignores the proxy variables and NODE_USE_ENV_PROXY. Installing
// npm undici 7's EnvHttpProxyAgent as the global dispatcher makes fetch (and the openai and
// @anthropic-ai/sdk clients, which use it) read them: upper- and lowercase, NO_PROXY honoured.
// Load it with NODE_OPTIONS=--import /abs/path/nono-proxy-preload.mjs; undici resolves from
// this file's directory (npm install there).
import { EnvHttpProxyAgent, setGlobalDispatcher } from 'undici';

const vars = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];

if (vars.some((v) => process.env[v])) {
	setGlobalDispatcher(new EnvHttpProxyAgent());
}
