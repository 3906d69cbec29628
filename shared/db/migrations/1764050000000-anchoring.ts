// Anchoring: which audit records wait for a batch, the batches and their transactions,
// which batch holds each record at which leaf, and each batch's Merkle tree.
//
// Why no record is ever skipped or anchored twice (docs/anchoring.md has the whole argument):
// a trigger puts every audit record into anchor_queue in the same transaction that inserts
// it, so a committed record is always either waiting there or already in anchor_leaves; the
// anchorer moves records from the queue into anchor_leaves (primary key: record id) in the
// one transaction that plans their batch. Record ids need not arrive in commit order.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Anchoring1764050000000 implements MigrationInterface {
  name = 'Anchoring1764050000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE anchor_queue (
        record_id  bigint PRIMARY KEY,
        account_id bigint NOT NULL,
        sequence   bigint NOT NULL,
        hash       char(64) NOT NULL
      )`);
    await q.query(`CREATE INDEX anchor_queue_account_idx ON anchor_queue (account_id)`);
    await q.query(`
      CREATE FUNCTION tz_anchor_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO anchor_queue (record_id, account_id, sequence, hash) VALUES (NEW.id, NEW.account_id, NEW.sequence, NEW.hash);
        RETURN NULL;
      END $$`);
    // No insert may slip between the backfill and the trigger: both happen under a lock that
    // excludes writers, and writers blocked here fire the trigger once we commit.
    await q.query(`LOCK TABLE audit_records IN SHARE ROW EXCLUSIVE MODE`);
    // A row trigger on the partitioned table is cloned onto every partition, present and
    // future, so it fires however a row arrives.
    await q.query(`
      CREATE TRIGGER audit_records_anchor_enqueue AFTER INSERT ON audit_records
        FOR EACH ROW EXECUTE FUNCTION tz_anchor_enqueue()`);
    await q.query(`INSERT INTO anchor_queue (record_id, account_id, sequence, hash) SELECT id, account_id, sequence, hash FROM audit_records`);

    await q.query(`
      CREATE TABLE anchor_batches (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed')),
        merkle_root     char(64),
        first_record_id bigint,
        last_record_id  bigint,
        record_count    integer,
        chain_id        bigint NOT NULL,
        anchor_address  text NOT NULL,
        confirmations   integer NOT NULL,
        nonce           bigint,
        tx_hash         text,
        block_number    bigint,
        block_hash      text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        confirmed_at    timestamptz,
        CHECK (status = 'pending' OR (merkle_root IS NOT NULL AND tx_hash IS NOT NULL AND block_number IS NOT NULL AND confirmed_at IS NOT NULL))
      )`);
    // At most one batch in flight: a second planner blocks on this index entry and then
    // fails, so two anchorers can never both have a batch on its way to the chain.
    await q.query(`CREATE UNIQUE INDEX anchor_batches_one_pending ON anchor_batches ((true)) WHERE status = 'pending'`);
    await q.query(`
      CREATE TABLE anchor_transactions (
        tx_hash    text PRIMARY KEY,
        batch_id   bigint NOT NULL REFERENCES anchor_batches(id),
        nonce      bigint NOT NULL,
        raw        text NOT NULL,
        fees       jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX anchor_transactions_batch_idx ON anchor_transactions (batch_id)`);
    // No foreign key: a batch's leaves are written by the statement that plans it, and a
    // per-row key check would cost more than the whole rest of the insert.
    await q.query(`
      CREATE TABLE anchor_leaves (
        record_id  bigint PRIMARY KEY,
        batch_id   bigint NOT NULL,
        leaf_index integer NOT NULL
      )`);
    await q.query(`
      CREATE TABLE anchor_batch_accounts (
        account_id     bigint NOT NULL,
        batch_id       bigint NOT NULL REFERENCES anchor_batches(id),
        record_count   integer NOT NULL,
        first_sequence bigint NOT NULL,
        last_sequence  bigint NOT NULL,
        PRIMARY KEY (account_id, batch_id)
      )`);
    // Every level of each batch's tree, 32 bytes per node. Stored uncompressed (EXTERNAL),
    // so reading one node with substring() fetches only the TOAST chunk that holds it: an
    // inclusion proof costs one small read per level whatever the batch size.
    await q.query(`
      CREATE TABLE anchor_tree_levels (
        batch_id bigint NOT NULL REFERENCES anchor_batches(id),
        level    smallint NOT NULL,
        nodes    bytea NOT NULL,
        PRIMARY KEY (batch_id, level)
      )`);
    await q.query(`ALTER TABLE anchor_tree_levels ALTER COLUMN nodes SET STORAGE EXTERNAL`);

    await q.query(`
      CREATE FUNCTION tz_anchor_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Nested: PL/pgSQL does not promise to short-circuit AND, and OLD.status exists only here.
        IF TG_TABLE_NAME = 'anchor_batches' AND TG_OP = 'UPDATE' THEN
          IF OLD.status = 'pending' THEN
            RETURN NEW;
          END IF;
        END IF;
        RAISE EXCEPTION '% is append-only once written: % is not allowed', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const table of ['anchor_batches', 'anchor_leaves', 'anchor_batch_accounts', 'anchor_tree_levels', 'anchor_transactions']) {
      await q.query(`CREATE TRIGGER ${table}_immutable BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION tz_anchor_immutable()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER audit_records_anchor_enqueue ON audit_records`);
    await q.query(`DROP TABLE anchor_tree_levels, anchor_batch_accounts, anchor_leaves, anchor_transactions, anchor_batches, anchor_queue`);
    await q.query(`DROP FUNCTION tz_anchor_immutable()`);
    await q.query(`DROP FUNCTION tz_anchor_enqueue()`);
  }
}
