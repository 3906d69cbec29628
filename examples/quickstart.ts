// The product page's Quick Start against a local server (`npm start`):
//   THETAZERO_API_KEY=tzk_... node --import tsx examples/quickstart.ts
// In your own project: npm install ./sdk/typescript, then
//   import { SecureAgent } from '@thetazero/agent-sdk';
import { SecureAgent } from '../sdk/typescript/src/index.ts';

const apiKey = process.env.THETAZERO_API_KEY;
if (!apiKey) {
  process.stderr.write('set THETAZERO_API_KEY to the admin key `npm start` printed\n');
  process.exit(1);
}

// The code the sandbox runs; `input` is what run() is given.
const entryCode = `
const users = input.data.users;
const churned = users.filter((u) => u.churned);
const counts = {};
for (const u of churned) counts[u.reason] = (counts[u.reason] || 0) + 1;
const top = Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([reason, n]) => ({ reason, users: n }));
await thetazero.log("analyzed " + users.length + " users");
return { task: input.task, churnRate: churned.length / users.length, topRiskFactors: top };
`;

const churnDataset = [
  { id: 1, churned: true, reason: 'price' },
  { id: 2, churned: false, reason: null },
  { id: 3, churned: true, reason: 'support' },
  { id: 4, churned: true, reason: 'price' },
  { id: 5, churned: true, reason: 'onboarding' },
  { id: 6, churned: false, reason: null },
];

const agent = new SecureAgent({
  apiKey,
  name: 'churn-analyst',
  entryCode,
  permissions: SecureAgent.permissions.CODER,
  limits: { maxMemoryMb: 512, maxExecutionTimeSec: 300 },
  sandbox: 'STANDARD',
});

await agent.configure();

const result = await agent.run({
  task: 'Analyze the user churn data and identify top 3 risk factors',
  data: { users: churnDataset },
});

console.log(result.output);
console.log({ executionId: result.executionId, status: result.status, durationMs: result.durationMs, auditTrailUrl: result.auditTrailUrl });
