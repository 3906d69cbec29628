"""AgentConfig: an agent's sandbox limits, with the product page's defaults."""
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List

SANDBOX_TEMPLATES = ("STRICT", "STANDARD", "DEV")


@dataclass
class AgentConfig:
    memory_limit_mb: int = 128
    """Worker memory cap (MB)."""
    cpu_time_limit_ms: int = 30000
    """Execution timeout (ms)."""
    max_api_calls_per_run: int = 50
    """Most http_request / read_context calls in one run."""
    allow_network: bool = False
    """Enable outbound HTTPS (the agent also needs the network:outbound permission)."""
    allow_filesystem: bool = False
    """Reserved."""
    sandbox_template: str = "STANDARD"
    """STRICT, STANDARD or DEV."""
    allowed_domains: List[str] = field(default_factory=list)
    """Domain allow-list for network calls (empty: any public HTTPS host)."""

    def __post_init__(self) -> None:
        if self.sandbox_template not in SANDBOX_TEMPLATES:
            raise ValueError("sandbox_template must be one of " + ", ".join(SANDBOX_TEMPLATES))

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)
