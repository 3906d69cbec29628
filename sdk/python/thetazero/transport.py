"""HTTP calls to the ThetaZero API over urllib: JSON in and out, error bodies mapped to
SDKError, and retries with backoff only for GET requests on 429, 503 or a network error."""
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Mapping, Optional, Tuple

from .errors import SDKError

RETRY_STATUSES = (429, 503)


def _backoff(attempt: int) -> float:
    base = min(5.0, 0.2 * (2 ** attempt))
    return base / 2 + random.random() * base / 2


class Transport:
    def __init__(self, api_key: str, base_url: str, timeout: float = 30.0, max_retries: int = 3) -> None:
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries

    def url(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        params = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in (query or {}).items() if v is not None}
        return self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> Tuple[int, Any]:
        """Sends one call; returns (status, parsed JSON body) of a 2xx answer, raises SDKError otherwise."""
        headers: Dict[str, str] = {"Authorization": "Bearer " + self.api_key, "Accept": "application/json"}
        data: Optional[bytes] = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        idempotent = method == "GET"
        attempt = 0
        while True:
            req = urllib.request.Request(self.url(path, query), data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=timeout if timeout is not None else self.timeout) as res:
                    text = res.read().decode("utf-8")
                    return res.status, (json.loads(text) if text else None)
            except urllib.error.HTTPError as err:
                if idempotent and err.code in RETRY_STATUSES and attempt < self.max_retries:
                    retry_after = err.headers.get("Retry-After") if err.headers else None
                    time.sleep(float(retry_after) if retry_after and retry_after.isdigit() else _backoff(attempt))
                    attempt += 1
                    continue
                raise _error_from_response(err.code, err.read().decode("utf-8", "replace")) from None
            except (socket.timeout, TimeoutError) as err:
                raise SDKError("TIMEOUT", 0, "{} {}: no answer in time ({})".format(method, path, err)) from None
            except (urllib.error.URLError, ConnectionError, OSError) as err:
                reason = getattr(err, "reason", err)
                if isinstance(reason, (socket.timeout, TimeoutError)):
                    raise SDKError("TIMEOUT", 0, "{} {}: no answer in time".format(method, path)) from None
                if idempotent and attempt < self.max_retries:
                    time.sleep(_backoff(attempt))
                    attempt += 1
                    continue
                raise SDKError("NETWORK_ERROR", 0, "{} {}: {}".format(method, path, reason)) from None


def _error_from_response(status: int, text: str) -> SDKError:
    try:
        parsed = json.loads(text)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return SDKError(error["code"], status, str(error.get("message", error["code"])), error.get("details"))
    except ValueError:
        pass
    return SDKError("http_{}".format(status), status, "HTTP {}: {}".format(status, text[:200]))
