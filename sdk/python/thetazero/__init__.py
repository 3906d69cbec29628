"""ThetaZero SDK for Python: deploy and run governed, sandboxed agents (standard library only)."""
from .agent import DEFAULT_BASE_URL, SecureAgent
from .config import SANDBOX_TEMPLATES, AgentConfig
from .errors import SDKError
from .execution import FINAL_STATUSES, ExecutionHandle, ExecutionResult

__version__ = "0.1.0"
__all__ = [
    "AgentConfig",
    "DEFAULT_BASE_URL",
    "ExecutionHandle",
    "ExecutionResult",
    "FINAL_STATUSES",
    "SANDBOX_TEMPLATES",
    "SDKError",
    "SecureAgent",
    "__version__",
]
