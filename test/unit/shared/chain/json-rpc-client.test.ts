// The JSON-RPC client: credentials in the URL become a Basic header and never appear in an
// error, and malformed answers are refused at the edge.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ChainRpcError, ChainUnavailableError, JsonRpcClient } from '../../../../shared/chain/json-rpc-client.ts';
import { maskRpcUrl } from '../../../../shared/chain/rpc-url.ts';
import { freePort } from '../../../helpers/free-port.ts';

describe('JsonRpcClient', () => {
  let server: Server;
  let port: number;
  let seen: IncomingHttpHeaders | undefined;
  let reply: (body: { id: number; method: string }) => unknown;

  before(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        seen = req.headers;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply(JSON.parse(raw))));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends user:password from the URL as HTTP Basic authentication', async () => {
    reply = (b) => ({ jsonrpc: '2.0', id: b.id, result: '0x7a69' });
    const client = new JsonRpcClient(`http://auditor:s3cret@127.0.0.1:${port}/`, 2000);
    assert.equal(await client.call('eth_chainId', [], z.string()), '0x7a69');
    assert.equal(seen?.authorization, `Basic ${Buffer.from('auditor:s3cret').toString('base64')}`);
    assert.equal(client.displayUrl, `http://***:***@127.0.0.1:${port}/`);
  });

  it('names neither the password nor a key in the path when the node is unreachable', async () => {
    const dead = await freePort();
    const client = new JsonRpcClient(`https://user:hunter22@127.0.0.1:${dead}/v3/0123456789abcdef0123456789abcdef`, 1000);
    const err = await client.call('eth_chainId', [], z.string()).catch((e: Error) => e);
    assert.ok(err instanceof ChainUnavailableError);
    assert.ok(!err.message.includes('hunter22') && !err.message.includes('0123456789abcdef'), err.message);
  });

  it('refuses answers that are not JSON-RPC or not the expected shape, and passes on node errors', async () => {
    const client = new JsonRpcClient(`http://127.0.0.1:${port}`, 2000);
    reply = () => ({ hello: 'world' });
    await assert.rejects(client.call('eth_chainId', [], z.string()), ChainUnavailableError);
    reply = (b) => ({ jsonrpc: '2.0', id: b.id + 1, result: '0x1' });
    await assert.rejects(client.call('eth_chainId', [], z.string()), /id of another request/);
    reply = (b) => ({ jsonrpc: '2.0', id: b.id, result: 42 });
    await assert.rejects(client.call('eth_chainId', [], z.string()), /malformed/);
    reply = (b) => ({ jsonrpc: '2.0', id: b.id, error: { code: -32000, message: 'nonce too low' } });
    const err = await client.call('eth_sendRawTransaction', ['0x00'], z.string()).catch((e: Error) => e);
    assert.ok(err instanceof ChainRpcError);
    assert.equal(err.rpcMessage, 'nonce too low');
  });
});

describe('maskRpcUrl', () => {
  it('masks credentials, key-like path segments and query values, and keeps the rest', () => {
    assert.equal(maskRpcUrl('https://u:p@rpc.example.com/v3/0123456789abcdef0123?apikey=zzz'), 'https://***:***@rpc.example.com/v3/***?apikey=***');
    assert.equal(maskRpcUrl('http://127.0.0.1:8545'), 'http://127.0.0.1:8545/');
    assert.equal(maskRpcUrl('not a url'), '***');
  });
});
