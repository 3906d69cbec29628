"""ExecutionResult (the product page's sandbox result) and the handle of an async run."""
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .errors import SDKError
from .transport import Transport

FINAL_STATUSES = ("completed", "failed", "timed_out", "terminated", "limit_exceeded", "rate_limited", "halted", "node_lost")


@dataclass
class ExecutionResult:
    execution_id: int
    status: str
    output: Any = None
    resource_usage: Dict[str, Any] = field(default_factory=dict)
    host_call_audit: List[Any] = field(default_factory=list)
    logs: List[Any] = field(default_factory=list)
    violation_count: int = 0
    was_terminated: bool = False
    duration_ms: Optional[float] = None
    error: Optional[Dict[str, Any]] = None
    audit_trail_url: Optional[str] = None
    agent_id: Optional[int] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_wire(cls, body: Dict[str, Any], base_url: str) -> "ExecutionResult":
        trail = body.get("audit_trail_url")
        return cls(
            execution_id=body["execution_id"],
            status=body["status"],
            output=body.get("output"),
            resource_usage=body.get("resource_usage") or {},
            host_call_audit=body.get("host_call_audit") or [],
            logs=body.get("logs") or [],
            violation_count=body.get("violation_count") or 0,
            was_terminated=bool(body.get("was_terminated")),
            duration_ms=body.get("duration_ms"),
            error=body.get("error"),
            audit_trail_url=(base_url + trail) if isinstance(trail, str) and trail.startswith("/") else trail,
            agent_id=body.get("agent_id"),
            raw=body,
        )

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def raise_for_status(self) -> "ExecutionResult":
        """Raises RuntimeError unless the run completed; returns self otherwise."""
        if self.status != "completed":
            detail = ""
            if self.error:
                detail = ": {} {}".format(self.error.get("code", ""), self.error.get("message", "")).rstrip()
            raise RuntimeError("execution {} ended {}{}".format(self.execution_id, self.status, detail))
        return self


def poll_until_final(transport: Transport, agent_id: int, execution_id: int, timeout: float) -> ExecutionResult:
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        _, body = transport.request("GET", "/api/v1/sdk/agents/{}/executions/{}".format(agent_id, execution_id))
        if body["status"] in FINAL_STATUSES:
            return ExecutionResult.from_wire(body, transport.base_url)
        if time.monotonic() + delay > deadline:
            raise SDKError("TIMEOUT", 0, "execution {} still {} after {} s".format(execution_id, body["status"], timeout))
        time.sleep(delay)
        delay = min(1.0, delay * 1.5)


class ExecutionHandle:
    """An execution started with submit(): its id, its current state, and wait()."""

    def __init__(self, transport: Transport, agent_id: int, execution_id: int, status: str) -> None:
        self._transport = transport
        self.agent_id = agent_id
        self.execution_id = execution_id
        self.status = status

    def refresh(self) -> Dict[str, Any]:
        """The execution as the server holds it now."""
        _, body = self._transport.request("GET", "/api/v1/sdk/agents/{}/executions/{}".format(self.agent_id, self.execution_id))
        self.status = body["status"]
        return body

    def wait(self, timeout: float = 600.0) -> ExecutionResult:
        """Polls until the run ends; raises SDKError TIMEOUT after ``timeout`` seconds."""
        result = poll_until_final(self._transport, self.agent_id, self.execution_id, timeout)
        self.status = result.status
        return result

    def __repr__(self) -> str:
        return "ExecutionHandle(agent_id={}, execution_id={}, status={!r})".format(self.agent_id, self.execution_id, self.status)
