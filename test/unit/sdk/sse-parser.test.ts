// The SDK's own Server-Sent Events parser.
import assert from 'node:assert/strict';
import { SseParser } from '../../../sdk/typescript/src/sse-stream.ts';

describe('sdk/typescript SseParser', () => {
  const parse = (chunks: string[]) => {
    const out: { type: string; id: string | undefined; data: string }[] = [];
    const parser = new SseParser((e) => out.push(e));
    for (const c of chunks) parser.push(c);
    return out;
  };

  it('parses id, event and data, whatever the chunk boundaries', () => {
    const text = 'id: 7\nevent: audit\ndata: {"a":1}\n\n: comment\nevent: keepalive\ndata: {}\n\n';
    const whole = parse([text]);
    assert.deepEqual(whole, [
      { type: 'audit', id: '7', data: '{"a":1}' },
      { type: 'keepalive', id: '7', data: '{}' },
    ]);
    assert.deepEqual(parse(text.split('')), whole);
  });

  it('accepts CRLF line ends split between chunks, and joins multi-line data', () => {
    assert.deepEqual(parse(['data: a\r', '\ndata:b\r\n\r', '\n']), [{ type: 'message', id: undefined, data: 'a\nb' }]);
  });

  it('sends nothing for an event without data', () => {
    assert.deepEqual(parse(['event: x\n\n']), []);
  });
});
