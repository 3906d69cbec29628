// Assembles the thetazero.* host functions for one run. Each function checks policy
// through the same gate and writes to the same ledger; none of them holds anything
// the guest could reach, since the engine copies values across as JSON.
import type { HostCallGrant } from '../../shared/permissions/check-host-call.ts';
import { hostMatchesAllowList } from '../../shared/net/domain-allow-list.ts';
import type { HostFunctionSpec } from '../sandbox/host-function.ts';
import { HostCallGate } from './host-call-gate.ts';
import { httpRequestFunction, type HttpClient } from './http-request.ts';
import { logFunction } from './log.ts';
import { RateWindow } from './rate-window.ts';
import { readContextFunction, type ContextLookup } from './read-context.ts';
import type { RunLedger } from './run-ledger.ts';
import { writeResultFunction } from './write-result.ts';

export interface HostApiLimits {
  readonly apiCallsPerMinute: number;
  readonly maxOutputBytes: number;
  readonly maxLogBytes: number;
  readonly maxContextValueBytes: number;
  readonly httpMaxRequestBytes: number;
  readonly httpMaxResponseBytes: number;
}

export interface HostApiDeps {
  readonly grant: HostCallGrant;
  readonly ledger: RunLedger;
  readonly limits: HostApiLimits;
  readonly http: HttpClient;
  readonly readContext: ContextLookup;
  readonly now?: () => number;
}

export function createHostApi(deps: HostApiDeps): HostFunctionSpec[] {
  const gate = new HostCallGate({
    grant: deps.grant,
    ledger: deps.ledger,
    rateWindow: new RateWindow(deps.limits.apiCallsPerMinute),
    now: deps.now ?? Date.now,
  });
  const allowedDomains = deps.grant.allowedDomains;
  return [
    logFunction(deps.ledger, deps.limits.maxLogBytes),
    httpRequestFunction({
      gate,
      client: deps.http,
      allowHost: (host) => hostMatchesAllowList(host, allowedDomains),
      maxRequestBytes: deps.limits.httpMaxRequestBytes,
      maxResponseBytes: deps.limits.httpMaxResponseBytes,
    }),
    readContextFunction({ gate, lookup: deps.readContext, maxValueBytes: deps.limits.maxContextValueBytes }),
    writeResultFunction({ gate, ledger: deps.ledger, maxOutputBytes: deps.limits.maxOutputBytes }),
  ];
}
