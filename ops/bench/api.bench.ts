// Authenticated GET /api/v1/sdk/agents/:id under 50 concurrent connections, next to a
// bare Koa handler measured in the same run. Goal: at least 60% of the bare requests/s.
import { startProcess } from '../../test/helpers/processes.ts';
import { TestSystem } from '../../test/helpers/test-system.ts';
import { round, type Benchmark } from './benchmark.ts';
import { runLoad } from './support/load.ts';

const CONNECTIONS = 50;

const benchmark: Benchmark = {
  name: 'api',
  description: `authenticated GET agent vs bare Koa, ${CONNECTIONS} connections, BENCH_API_SECONDS each`,
  async run(settings) {
    const DURATION_S = settings.apiSeconds;
    const system = await TestSystem.create('bench_api');
    const bare = await startProcess('ops/bench/fixtures/bare-koa.ts', {}, 'bare koa listening');
    try {
      const account = await system.createAccount('bench');
      const api = await system.startApi();
      const created = await api.post('/api/v1/sdk/agents', { name: 'bench-agent', entry_code: 'return 1;' }, { key: account.adminKey });
      if (created.status !== 201) throw new Error(`could not register the bench agent: ${created.text}`);
      const path = `/api/v1/sdk/agents/${created.body.agent.id}`;
      // Warm both servers (JIT, key cache, connection pool) before measuring.
      await runLoad({ url: `${bare.ready.url}/`, connections: CONNECTIONS, durationSeconds: 2 });
      await runLoad({ url: `${api.baseUrl}${path}`, connections: CONNECTIONS, durationSeconds: 2, headers: { authorization: `Bearer ${account.adminKey}` } });
      const reference = await runLoad({ url: `${bare.ready.url}/`, connections: CONNECTIONS, durationSeconds: DURATION_S });
      const ours = await runLoad({
        url: `${api.baseUrl}${path}`,
        connections: CONNECTIONS,
        durationSeconds: DURATION_S,
        headers: { authorization: `Bearer ${account.adminKey}` },
      });
      if (ours.non2xx > 0 || ours.errors > 0) throw new Error(`api answered ${ours.non2xx} non-2xx and ${ours.errors} errors under load`);
      const ratio = ours.requestsPerSecond / reference.requestsPerSecond;
      const ref = `bare Koa ${round(reference.requestsPerSecond, 0)} req/s, p50 ${reference.p50Ms} ms, p99 ${reference.p99Ms} ms`;
      return [
        { name: 'GET agent (authenticated), requests/s', value: round(ours.requestsPerSecond, 0), unit: 'req/s', reference: ref, goal: '>= 60% of bare Koa', met: ratio >= 0.6 },
        { name: 'GET agent, share of bare Koa', value: round(ratio * 100, 1), unit: '%', reference: ref, goal: '>= 60%', met: ratio >= 0.6 },
        { name: 'GET agent, p50 latency', value: ours.p50Ms, unit: 'ms', reference: ref, goal: 'informational', met: null },
        { name: 'GET agent, p99 latency', value: ours.p99Ms, unit: 'ms', reference: ref, goal: 'informational', met: null },
      ];
    } finally {
      await bare.stop();
      await system.stop();
    }
  },
};

export default benchmark;
