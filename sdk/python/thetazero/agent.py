"""SecureAgent: one agent on a ThetaZero server, as on the product page's Python SDK section."""
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from .config import AgentConfig
from .errors import SDKError
from .execution import FINAL_STATUSES, ExecutionHandle, ExecutionResult, poll_until_final
from .transport import Transport

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
AGENTS = "/api/v1/sdk/agents"
EXECUTE_WAIT_ALLOWANCE_S = 10.0

ConfigLike = Union[AgentConfig, Dict[str, Any]]
Permissions = Union[str, Sequence[str]]


def _env(name: str) -> Optional[str]:
    value = os.environ.get(name)
    return value if value else None


def _wire_fields(fields: Dict[str, Any]) -> Dict[str, Any]:
    body: Dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if key == "config" and isinstance(value, AgentConfig):
            value = value.to_dict()
        elif key == "permissions" and not isinstance(value, str):
            value = list(value)
        body[key] = value
    return body


class SecureAgent:
    """An agent on ThetaZero, addressed by name (``deploy`` upserts by name) or by ``agent_id``."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        name: Optional[str] = None,
        description: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        agent_id: Optional[int] = None,
        version: Optional[str] = None,
        config: Optional[ConfigLike] = None,
        permissions: Optional[Permissions] = None,
        timeout: float = 30.0,
        max_retries: int = 3,
    ) -> None:
        key = api_key or _env("THETAZERO_API_KEY")
        if not key or not key.startswith("tzk_"):
            raise ValueError("api_key (or THETAZERO_API_KEY) is required and must start with tzk_")
        self.name = name
        self.description = description
        self.version = version
        self.config = config
        self.permissions = permissions
        self.agent_id = agent_id
        self._agent: Optional[Dict[str, Any]] = None
        self._transport = Transport(key, base_url or _env("THETAZERO_BASE_URL") or DEFAULT_BASE_URL, timeout, max_retries)

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def deploy(self, entry_code: Optional[str] = None, **kwargs: Any) -> Dict[str, Any]:
        """Registers or updates (by name) the agent and returns its record; status defaults to ready.

        Keyword arguments are agent fields: ``version``, ``description``, ``config`` (an
        AgentConfig or a dict), ``permissions`` (a scope list or a preset name), ``swarm``, ``status``.
        """
        if not self.name:
            raise ValueError("deploy() needs a name: SecureAgent(name=...)")
        fields: Dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "config": self.config,
            "permissions": self.permissions,
            "status": "ready",
        }
        fields.update(kwargs)
        fields["entry_code"] = entry_code
        _, body = self._transport.request("POST", AGENTS, _wire_fields(fields))
        return self._remember(body["agent"])

    def run(self, input: Any = None, timeout: Optional[float] = None) -> ExecutionResult:
        """Runs the agent with ``input`` and returns the result when the run ends."""
        agent_id = self._require_id()
        if self._agent is None:
            self.get_agent()  # its time limit bounds how long the server may take to answer
        limit_s = (self._agent or {}).get("config", {}).get("cpu_time_limit_ms", 30000) / 1000.0
        status, body = self._transport.request(
            "POST",
            "{}/{}/execute".format(AGENTS, agent_id),
            {"input": input},
            timeout=limit_s + EXECUTE_WAIT_ALLOWANCE_S + 30.0,
        )
        if status == 200 and body["status"] in FINAL_STATUSES:
            return ExecutionResult.from_wire(body, self.base_url)
        # 202: still running when the server's wait ran out.
        return poll_until_final(self._transport, agent_id, body["execution_id"], timeout if timeout is not None else limit_s + 120.0)

    def submit(self, input: Any = None) -> ExecutionHandle:
        """Queues a run and returns at once; ``handle.wait()`` returns its ExecutionResult."""
        agent_id = self._require_id()
        _, body = self._transport.request("POST", "{}/{}/execute".format(AGENTS, agent_id), {"input": input}, query={"async": "true"})
        return ExecutionHandle(self._transport, agent_id, body["execution_id"], body["status"])

    def executions(self, page: Optional[int] = None, limit: Optional[int] = None, status: Optional[str] = None) -> List[Dict[str, Any]]:
        """A page of this agent's executions, newest first (without output, logs and host-call audit)."""
        _, body = self._transport.request(
            "GET", "{}/{}/executions".format(AGENTS, self._require_id()), query={"page": page, "limit": limit, "status": status}
        )
        return list(body["executions"])

    def get_execution(self, execution_id: int) -> Dict[str, Any]:
        """Everything about one execution: output, logs, host-call audit, resource usage, node, times."""
        _, body = self._transport.request("GET", "{}/{}/executions/{}".format(AGENTS, self._require_id(), execution_id))
        return dict(body)

    def get_agent(self) -> Dict[str, Any]:
        """The agent as the server holds it now, with its entry code."""
        _, body = self._transport.request("GET", "{}/{}".format(AGENTS, self._require_id()))
        return self._remember(body["agent"])

    def list_agents(self, page: Optional[int] = None, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """The key's account's agents, newest first."""
        _, body = self._transport.request("GET", AGENTS, query={"page": page, "limit": limit})
        return list(body["agents"])

    def update(self, **kwargs: Any) -> Dict[str, Any]:
        """Changes agent fields (``entry_code``, ``config``, ``permissions``, ``status``, ...)."""
        body = _wire_fields(kwargs)
        if not body:
            raise ValueError("update() needs at least one field")
        _, answer = self._transport.request("PATCH", "{}/{}".format(AGENTS, self._require_id()), body)
        if "name" in body:
            self.name = body["name"]
        return self._remember(answer["agent"])

    def stop(self, reason: Optional[str] = None) -> Dict[str, Any]:
        """The kill switch for this agent: halts it and terminates its running executions."""
        _, body = self._transport.request("POST", "/api/sdk/agents/{}/kill".format(self._require_id()), {} if reason is None else {"reason": reason})
        return self._remember(body["agent"])

    def delete(self) -> None:
        """Deletes the agent, its context and its executions (its audit records stay)."""
        self._transport.request("DELETE", "{}/{}".format(AGENTS, self._require_id()))
        self.agent_id = None
        self._agent = None

    def _remember(self, agent: Dict[str, Any]) -> Dict[str, Any]:
        self._agent = agent
        self.agent_id = agent["id"]
        self.name = agent["name"]
        return agent

    def _require_id(self) -> int:
        if self.agent_id is not None:
            return self.agent_id
        if self.name:
            # Not deployed from this object: find the agent by name.
            page = 1
            while True:
                agents = self.list_agents(page=page, limit=100)
                for agent in agents:
                    if agent["name"] == self.name:
                        return int(self._remember(agent)["id"])
                if len(agents) < 100:
                    break
                page += 1
            raise SDKError("not_found", 404, "no agent named {!r}; call deploy() first".format(self.name))
        raise ValueError("call deploy() first, or pass agent_id")
