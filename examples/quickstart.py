"""The product page's Python hello-world against a local server (`npm start`):

    THETAZERO_API_KEY=tzk_... PYTHONPATH=sdk/python python3 examples/quickstart.py

(or `pip install ./sdk/python` once, then without PYTHONPATH)."""
from thetazero import SecureAgent

agent = SecureAgent(
    # api_key="tzk_your_api_key",   # or set THETAZERO_API_KEY env var
    name="hello-world",
    description="Simplest possible SDK agent",
)

# Deploy with raw JavaScript entry code
agent.deploy(
    entry_code="""
await thetazero.log("Hello from the sandbox!");
await thetazero.write_result({ message: "Hello, " + (input.name || "world") + "!" });
"""
)

# Run it
result = agent.run(input={"name": "Alice"})
result.raise_for_status()  # raises RuntimeError if status != completed

print(result.output)  # {'message': 'Hello, Alice!'}
print(result.resource_usage)  # {'cpu_ms': 18, 'api_calls': 0, 'host_calls': 2, ...}

# List executions
for ex in agent.executions():
    print(ex["status"], ex["resource_usage"])
