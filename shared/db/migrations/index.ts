// Every migration, oldest first. Listed explicitly (no glob) so the set is the same
// under tsx, a bundler or a compiled build.
import { InitialSchema1764020000000 } from './1764020000000-initial-schema.ts';
import { AuditTrail1764030000000 } from './1764030000000-audit-trail.ts';
import { Executions1764040000000 } from './1764040000000-executions.ts';
import { Anchoring1764050000000 } from './1764050000000-anchoring.ts';
import { ExecutionAwaited1764060000000 } from './1764060000000-execution-awaited.ts';
import { ExecutionsPendingIndex1764070000000 } from './1764070000000-executions-pending-index.ts';
import { AuditEventTimeIndex1764080000000 } from './1764080000000-audit-event-time-index.ts';

export const migrations = [InitialSchema1764020000000, AuditTrail1764030000000, Executions1764040000000, Anchoring1764050000000, ExecutionAwaited1764060000000, ExecutionsPendingIndex1764070000000, AuditEventTimeIndex1764080000000];
