"""Starts a real ThetaZero system for the tests (test/helpers/sdk-test-server.ts: api,
scheduler and an executor node on a database and Redis prefix of their own) and stops it
by closing the launcher's stdin."""
import json
import os
import subprocess
import threading
from typing import Any, Dict, List, Optional

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAUNCHER = os.path.join(ROOT, "test", "helpers", "sdk-test-server.ts")


class RunningSystem:
    def __init__(self) -> None:
        self.proc: Optional[subprocess.Popen] = None
        self.info: Dict[str, Any] = {}
        self.stderr: List[str] = []

    def start(self, timeout: float = 90.0) -> Dict[str, Any]:
        self.proc = subprocess.Popen(
            ["node", "--import", "tsx", LAUNCHER],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Drain stderr so the launcher never blocks on a full pipe; keep it for failures.
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()  # type: ignore[union-attr,arg-type]
        result: Dict[str, str] = {}
        reader = threading.Thread(target=lambda: result.update(line=self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        line = result.get("line", "")
        if not line:
            self.stop()
            raise RuntimeError("the test system did not start:\n" + "".join(self.stderr[-50:]))
        self.info = json.loads(line)
        return self.info

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        self.proc = None
