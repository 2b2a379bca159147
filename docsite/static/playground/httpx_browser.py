"""`httpx`, as much of it as the demos use, for the browser's Python: requests go through the page's `fetch`.

Shipped in the playground's python.zip as `httpx` (docsite/hooks/playground.py), never
installed on the server. Pyodide has no sockets, so a real HTTP client cannot run there;
the fetch demo (demos/low_level.py) only needs `AsyncClient(timeout=...).get(url).text`,
and the browser's own `fetch` does that, on the site's own origin.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyodide.http import pyfetch  # type: ignore[import-not-found]

__all__ = ["AsyncClient", "HTTPError", "HTTPStatusError", "Response", "TimeoutException"]


class HTTPError(Exception):
    """What went wrong with a request."""


class TimeoutException(HTTPError):
    """No answer within the client's timeout."""


class HTTPStatusError(HTTPError):
    """The answer was an error status (raised by `raise_for_status`)."""


class Response:
    def __init__(self, status_code: int, text: str, url: str) -> None:
        self.status_code = status_code
        self.text = text
        self.url = url

    def raise_for_status(self) -> Response:
        if self.status_code >= 400:
            raise HTTPStatusError(f"{self.status_code} from {self.url}")
        return self


class AsyncClient:
    def __init__(self, *, timeout: float = 5.0, **_: Any) -> None:
        self.timeout = timeout
        self.is_closed = False

    async def get(self, url: str, **_: Any) -> Response:
        try:
            answer = await asyncio.wait_for(pyfetch(str(url)), self.timeout)
            text = await asyncio.wait_for(answer.string(), self.timeout)
        except TimeoutError as exc:
            raise TimeoutException(f"no answer from {url} within {self.timeout} s") from exc
        except OSError as exc:
            raise HTTPError(f"{url}: {exc}") from exc
        return Response(answer.status, text, str(url))

    async def aclose(self) -> None:
        self.is_closed = True
