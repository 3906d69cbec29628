"""The Python SDK against a real system: the product page's hello-world and every method."""
import os
import unittest
import uuid
from unittest import mock

from thetazero import AgentConfig, ExecutionResult, SDKError, SecureAgent

from .system import RunningSystem

HELLO = """
await thetazero.log("Hello from the sandbox!");
await thetazero.write_result({ message: "Hello, " + (input.name || "world") + "!" });
"""
SYSTEM = RunningSystem()
INFO = {}


def setUpModule() -> None:
    INFO.update(SYSTEM.start())


def tearDownModule() -> None:
    SYSTEM.stop()


def unique(prefix: str) -> str:
    return prefix + "-" + uuid.uuid4().hex[:8]


class ProductPageTest(unittest.TestCase):
    def test_hello_world_as_on_the_product_page(self) -> None:
        agent = SecureAgent(api_key=INFO["adminKey"], name="hello-world", description="Simplest possible SDK agent", base_url=INFO["baseUrl"])
        record = agent.deploy(entry_code=HELLO)
        self.assertEqual(record["name"], "hello-world")
        self.assertEqual(record["status"], "ready")

        result = agent.run(input={"name": "Alice"})
        self.assertIs(result.raise_for_status(), result)
        self.assertEqual(result.output, {"message": "Hello, Alice!"})
        for key in ("cpu_ms", "api_calls", "host_calls"):
            self.assertIn(key, result.resource_usage)
        self.assertEqual(result.status, "completed")
        self.assertIsInstance(result.execution_id, int)
        self.assertTrue(result.audit_trail_url.startswith(INFO["baseUrl"] + "/api/v1/sdk/audit"))

        history = agent.executions()
        self.assertGreaterEqual(len(history), 1)
        for ex in history:
            self.assertEqual(ex["status"], "completed")
            self.assertIn("resource_usage", ex)

    def test_key_and_url_from_the_environment(self) -> None:
        with mock.patch.dict(os.environ, {"THETAZERO_API_KEY": INFO["adminKey"], "THETAZERO_BASE_URL": INFO["baseUrl"]}):
            agent = SecureAgent(name=unique("env"))
            agent.deploy(entry_code="return input;")
            self.assertEqual(agent.run(input=[1, 2]).output, [1, 2])

    def test_quick_start_input_with_task_and_data(self) -> None:
        agent = SecureAgent(api_key=INFO["adminKey"], name=unique("churn"), base_url=INFO["baseUrl"])
        agent.deploy(
            entry_code="return { task: input.task, users: input.data.users.length };",
            permissions="CODER",
            config=AgentConfig(memory_limit_mb=512, cpu_time_limit_ms=60000, sandbox_template="STANDARD"),
        )
        result = agent.run(input={"task": "Find risks", "data": {"users": [1, 2, 3]}}).raise_for_status()
        self.assertEqual(result.output, {"task": "Find risks", "users": 3})


class MethodsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.agent = SecureAgent(api_key=INFO["adminKey"], name=unique("methods"), base_url=INFO["baseUrl"])
        self.agent.deploy(entry_code="return input;", config=AgentConfig(cpu_time_limit_ms=20000))

    def test_agent_config_defaults_match_the_product_page(self) -> None:
        config = AgentConfig()
        self.assertEqual(
            config.to_dict(),
            {
                "memory_limit_mb": 128,
                "cpu_time_limit_ms": 30000,
                "max_api_calls_per_run": 50,
                "allow_network": False,
                "allow_filesystem": False,
                "sandbox_template": "STANDARD",
                "allowed_domains": [],
            },
        )
        with self.assertRaises(ValueError):
            AgentConfig(sandbox_template="LOOSE")

    def test_deploy_sends_the_config_and_is_an_upsert(self) -> None:
        first = self.agent.get_agent()
        self.assertEqual(first["config"]["cpu_time_limit_ms"], 20000)
        self.assertEqual(first["entry_code"], "return input;")
        again = self.agent.deploy(entry_code="return 2;", version="2.0.0")
        self.assertEqual(again["id"], first["id"])
        self.assertEqual(again["version"], "2.0.0")

    def test_submit_and_wait(self) -> None:
        handle = self.agent.submit(input={"async": True})
        self.assertIsInstance(handle.execution_id, int)
        result = handle.wait(timeout=60)
        self.assertIsInstance(result, ExecutionResult)
        self.assertEqual(result.output, {"async": True})
        self.assertEqual(handle.status, "completed")

    def test_executions_filters_and_get_execution(self) -> None:
        ids = [self.agent.run(input={"n": n}).execution_id for n in (1, 2, 3)]
        page = self.agent.executions(page=1, limit=2)
        self.assertEqual([e["execution_id"] for e in page], [ids[2], ids[1]])
        self.assertEqual(len(self.agent.executions(status="completed")), 3)
        self.assertEqual(self.agent.executions(status="failed"), [])
        detail = self.agent.get_execution(ids[0])
        self.assertEqual(detail["output"], {"n": 1})
        self.assertIn("logs", detail)
        self.assertIn("host_call_audit", detail)

    def test_list_update_and_delete(self) -> None:
        names = [a["name"] for a in self.agent.list_agents(limit=100)]
        self.assertIn(self.agent.name, names)
        updated = self.agent.update(entry_code="return 'patched';", description="changed")
        self.assertEqual(updated["description"], "changed")
        self.assertEqual(self.agent.run().output, "patched")
        agent_id = self.agent.agent_id
        self.agent.delete()
        gone = SecureAgent(api_key=INFO["adminKey"], base_url=INFO["baseUrl"], agent_id=agent_id)
        with self.assertRaises(SDKError) as ctx:
            gone.get_agent()
        self.assertEqual((ctx.exception.code, ctx.exception.status), ("not_found", 404))

    def test_finds_a_deployed_agent_by_name(self) -> None:
        other = SecureAgent(api_key=INFO["adminKey"], name=self.agent.name, base_url=INFO["baseUrl"])
        self.assertEqual(other.run(input="by name").output, "by name")
        self.assertEqual(other.agent_id, self.agent.agent_id)

    def test_raise_for_status_raises_runtime_error_when_not_completed(self) -> None:
        self.agent.update(entry_code="throw new Error('boom');")
        result = self.agent.run()
        self.assertEqual(result.status, "failed")
        with self.assertRaises(RuntimeError):
            result.raise_for_status()

    def test_stop_halts_the_agent(self) -> None:
        halted = self.agent.stop("halting for review")
        self.assertEqual(halted["status"], "halted")
        with self.assertRaises(SDKError) as ctx:
            self.agent.run()
        self.assertEqual((ctx.exception.code, ctx.exception.status), ("agent_halted", 409))


class ErrorsTest(unittest.TestCase):
    def test_bad_key_is_unauthenticated_401(self) -> None:
        agent = SecureAgent(api_key="tzk_" + "x" * 43, name="nobody", base_url=INFO["baseUrl"])
        with self.assertRaises(SDKError) as ctx:
            agent.deploy(entry_code="return 1;")
        self.assertEqual((ctx.exception.code, ctx.exception.status), ("unauthenticated", 401))

    def test_missing_scope_is_insufficient_scope_403(self) -> None:
        owner = SecureAgent(api_key=INFO["adminKey"], name=unique("scoped"), base_url=INFO["baseUrl"])
        agent_id = owner.deploy(entry_code="return 1;")["id"]
        reader = SecureAgent(api_key=INFO["readOnlyKey"], base_url=INFO["baseUrl"], agent_id=agent_id)
        self.assertEqual(reader.get_agent()["id"], agent_id)
        with self.assertRaises(SDKError) as ctx:
            reader.run()
        self.assertEqual((ctx.exception.code, ctx.exception.status), ("insufficient_scope", 403))

    def test_unknown_agent_is_not_found_404(self) -> None:
        agent = SecureAgent(api_key=INFO["adminKey"], base_url=INFO["baseUrl"], agent_id=987654)
        with self.assertRaises(SDKError) as ctx:
            agent.executions()
        self.assertEqual((ctx.exception.code, ctx.exception.status), ("not_found", 404))

    def test_unreachable_server_is_network_error(self) -> None:
        agent = SecureAgent(api_key=INFO["adminKey"], base_url="http://127.0.0.1:9", agent_id=1, max_retries=0)
        with self.assertRaises(SDKError) as ctx:
            agent.get_agent()
        self.assertEqual((ctx.exception.code, ctx.exception.status), ("NETWORK_ERROR", 0))

    def test_a_key_is_required(self) -> None:
        with mock.patch.dict(os.environ, {"THETAZERO_API_KEY": ""}):
            with self.assertRaises(ValueError):
                SecureAgent(name="x")


if __name__ == "__main__":
    unittest.main()
