// Anchoring settings: defaults, one-line errors, and a private key that no serialisation shows.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../../shared/config.ts';
import { anchorKey } from '../../../shared/chain/chain-settings.ts';
import { ConfigError } from '../../../shared/errors.ts';

const KEY = `0x${'5a'.repeat(32)}`;

describe('anchor configuration', () => {
  it('has the documented defaults', () => {
    const { anchor } = loadConfig({});
    assert.equal(anchor.intervalMs, 300_000);
    assert.equal(anchor.localChainPort, 8545);
    assert.equal(anchor.rpcUrl, undefined);
    assert.equal(anchor.confirmations, 3);
  });

  it('names a bad variable in one line', () => {
    assert.throws(() => loadConfig({ ANCHOR_PRIVATE_KEY: '0x1234' }), (e: Error) => e instanceof ConfigError && /^configuration error: ANCHOR_PRIVATE_KEY /.test(e.message));
    assert.throws(() => loadConfig({ CHAIN_RPC_URL: 'ws://x' }), /CHAIN_RPC_URL/);
  });

  it('uses the dev key only when CHAIN_RPC_URL is unset, and requires a key otherwise', () => {
    assert.equal(anchorKey(loadConfig({})).devOnly, true);
    assert.throws(() => anchorKey(loadConfig({ CHAIN_RPC_URL: 'https://rpc.example.com' })), /ANCHOR_PRIVATE_KEY is required/);
    const given = anchorKey(loadConfig({ CHAIN_RPC_URL: 'https://rpc.example.com', ANCHOR_PRIVATE_KEY: KEY }));
    assert.equal(given.devOnly, false);
    assert.equal(given.key.reveal(), KEY);
  });

  it('never shows the private key in JSON, inspect or a log line', () => {
    const config = loadConfig({ ANCHOR_PRIVATE_KEY: KEY });
    let logged = '';
    const log = pino(new Writable({ write: (chunk, _enc, done) => ((logged += chunk.toString()), done()) }));
    log.info({ config }, 'config');
    for (const text of [JSON.stringify(config), inspect(config, { depth: 10 }), logged, String(config.anchor.privateKey)]) {
      assert.ok(!text.includes('5a5a5a5a'), text);
    }
  });
});
