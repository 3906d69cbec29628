// Tests run TypeScript through tsx; each suite talks to the real PostgreSQL and Redis.
module.exports = {
  'node-option': ['import=tsx', 'expose-gc'],
  spec: ['test/**/*.test.ts'],
  reporter: './test/helpers/summary-reporter.cjs',
  timeout: 30000,
  slow: 2000,
  exit: true,
};
