// A local OpenID Connect provider for Floe's sign-in tests: panva/node-oidc-provider with one
// confidential client and its development-only login and consent pages (devInteractions).
//
//   node server.mjs --port 7900 --client-id floe --redirect-uri http://127.0.0.1:7800/auth/oidc/callback
//
// Environment: OIDC_PROVIDER_MODULES (required) the node_modules directory holding oidc-provider
// (scripts/test.sh installs it into .cache/npm/oidc-provider/node_modules); OIDC_CLIENT_SECRET.
//
// Any login name signs in (the password is ignored). Accounts: sub = the login; email = the login
// if it holds an "@", else login@example.org; name = "<Login> Example". A login of the form
// "unverified:someone@example.org" gets that email with email_verified false.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'client-id': { type: 'string', default: 'floe' },
    'redirect-uri': { type: 'string', multiple: true },
  },
});
if (!args.port || !args['redirect-uri']) {
  console.error('usage: node server.mjs --port PORT --redirect-uri URI [--client-id ID] [--host HOST]');
  process.exit(2);
}
const modules = process.env.OIDC_PROVIDER_MODULES;
if (!modules) {
  console.error('set OIDC_PROVIDER_MODULES to the node_modules directory that holds oidc-provider');
  process.exit(2);
}
const packageDir = path.join(modules, 'oidc-provider');
const pkg = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8'));
const entry = (typeof pkg.exports === 'string' ? pkg.exports : pkg.exports?.['.']?.import ?? pkg.exports?.['.']) ?? pkg.main ?? 'index.js';
const { default: Provider } = await import(pathToFileURL(path.join(packageDir, entry)).href);

function account(id) {
  const unverified = id.startsWith('unverified:');
  const login = unverified ? id.slice('unverified:'.length) : id;
  const email = login.includes('@') ? login : `${login}@example.org`;
  const local = email.split('@')[0];
  return {
    sub: id,
    email,
    email_verified: !unverified,
    name: `${local.charAt(0).toUpperCase()}${local.slice(1)} Example`,
  };
}

const issuer = `http://${args.host}:${args.port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: args['client-id'],
      client_secret: process.env.OIDC_CLIENT_SECRET || 'floe-test-secret',
      redirect_uris: args['redirect-uri'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false, // scope claims in the ID token too (Floe reads only the ID token)
  cookies: { keys: ['floe-tests-only-not-a-secret'] },
  async findAccount(_ctx, id) {
    return { accountId: id, claims: async () => account(id) };
  },
});

provider.listen(Number(args.port), args.host, () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
