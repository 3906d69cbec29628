// One isolated system per suite: its own database (migrated), its own Redis prefix,
// accounts and keys made directly in the database, and api processes on free ports.
import { DataSource } from 'typeorm';
import { openDatabase, runMigrations } from '../../shared/db/data-source.ts';
import { AccountStore } from '../../shared/db/stores/account-store.ts';
import { ApiKeyStore } from '../../shared/db/stores/api-key-store.ts';
import { ExecutionStore } from '../../shared/db/stores/execution-store.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from './test-redis.ts';
import { startProcess, type RunningProcess } from './processes.ts';
import { HttpClient } from './http-client.ts';

export interface TestAccount {
  readonly id: number;
  readonly name: string;
  /** A key with every scope. */
  readonly adminKey: string;
}

export class TestSystem {
  private readonly processes: RunningProcess[] = [];

  private constructor(
    readonly database: TestDatabase,
    readonly db: DataSource,
    readonly redisPrefix: string,
    /** The machine's Redis unless a suite runs its own (e.g. to restart it). */
    readonly redisUrl: string,
  ) {}

  static async create(label: string, options: { redisUrl?: string } = {}): Promise<TestSystem> {
    const database = await createTestDatabase(label);
    const db = await openDatabase({ url: database.url, poolSize: 4, applicationName: 'tz-test' });
    await runMigrations(db);
    return new TestSystem(database, db, testRedisPrefix(label), options.redisUrl ?? TEST_REDIS_URL);
  }

  /** Environment for any product process or `tz` command of this system. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.database.url,
      REDIS_URL: this.redisUrl,
      REDIS_PREFIX: this.redisPrefix,
      PORT: '0',
      LOG_LEVEL: 'info',
      ...extra,
    };
  }

  async createAccount(name: string): Promise<TestAccount> {
    const account = await new AccountStore(this.db).create(name, 'system');
    const { key } = await new ApiKeyStore(this.db).create(account.id, undefined, 'test admin', 'system');
    return { id: account.id, name: account.name, adminKey: key };
  }

  /**
   * A ready agent written straight to the database, for tests below the API (stores,
   * scheduler parts); end-to-end tests register agents through the API instead.
   */
  async createAgent(accountId: number, name: string, entryCode = 'return 1;'): Promise<number> {
    const [row] = (await this.db.query(
      `INSERT INTO agents (account_id, name, version, entry_code, config, permissions, status)
       VALUES ($1, $2, '1.0.0', $3, '{}'::jsonb, '{}'::text[], 'ready') RETURNING id::float8 AS id`,
      [accountId, name, entryCode],
    )) as { id: number }[];
    return row!.id;
  }

  /** A queued execution of the agent, written through the execution store as the api queues one. */
  async queueExecution(accountId: number, agentId: number, options: { awaited?: boolean } = {}): Promise<number> {
    const [row] = await new ExecutionStore(this.db).createQueuedMany([
      {
        accountId,
        agentId,
        inputJson: '{}',
        awaited: options.awaited ?? false,
        audit: { actor: 'system', actionType: 'execution_queued', description: 'queued by a test' },
      },
    ]);
    return row!.id;
  }

  async createKey(accountId: number, scopes: string[]): Promise<string> {
    return (await new ApiKeyStore(this.db).create(accountId, scopes, undefined, 'system')).key;
  }

  async startApi(extraEnv: Record<string, string> = {}): Promise<HttpClient> {
    const proc = await startProcess('api/main.ts', this.env(extraEnv), 'api listening');
    this.processes.push(proc);
    return new HttpClient(String(proc.ready.url));
  }

  async startScheduler(extraEnv: Record<string, string> = {}): Promise<RunningProcess> {
    const proc = await startProcess('scheduler/main.ts', this.env(extraEnv), 'scheduler started');
    this.processes.push(proc);
    return proc;
  }

  /** An anchorer process; pass CHAIN_RPC_URL and ANCHOR_PRIVATE_KEY (test/helpers/test-chain.ts). */
  async startAnchorer(extraEnv: Record<string, string> = {}): Promise<RunningProcess> {
    const proc = await startProcess('anchorer/main.ts', this.env(extraEnv), 'anchorer started');
    this.processes.push(proc);
    return proc;
  }

  /** Pids of the running processes this system started from `entry` (api/main.ts, ...). */
  pidsOf(entry: string): number[] {
    return this.processes.filter((p) => p.entry === entry && p.child.exitCode === null && p.child.pid !== undefined).map((p) => p.child.pid!);
  }

  processByPid(pid: number): RunningProcess | undefined {
    return this.processes.find((p) => p.child.pid === pid);
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    await this.db.destroy();
    await this.database.drop();
    await deleteRedisPrefix(this.redisPrefix, this.redisUrl).catch(() => undefined);
  }
}
