"""Control characters in the admin UI's and API's input are refused with 422 (SPEC §8).

A filter or a form field reaches a database query, and PostgreSQL cannot hold the NUL
character in text (https://www.postgresql.org/docs/current/datatype-character.html): the
driver refuses the query and the request ended in HTTP 500. No admin input has a use for
control characters, so :class:`RefuseControlCharacters` answers 422 before any route runs
— for the path, the query string (names and values, percent-decoded), URL-encoded form
bodies and the strings of JSON bodies (the API's, decoded: ``"\u0000"`` is a NUL too).
Tabs and line breaks stay allowed: a textarea sends CR LF.

A pure ASGI middleware: a body is read once (bounded by :data:`MAX_FORM_BYTES`, past
which 413 answers) and handed on unchanged to the app; JSON that does not parse is the
app's to refuse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_FORM_BYTES", "RefuseControlCharacters", "has_control_characters"]

MAX_FORM_BYTES = 1_000_000
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORM = b"application/x-www-form-urlencoded"
_JSON = b"application/json"


def has_control_characters(encoded: bytes) -> bool:
    """Whether URL-encoded ``encoded`` decodes to a control character other than tab/CR/LF."""
    return bool(_CONTROL.search(unquote_to_bytes(encoded.replace(b"+", b" "))))


class RefuseControlCharacters:
    """422 for a request under ``prefixes`` whose path, query or form holds a control character."""

    def __init__(self, app: ASGIApp, prefixes: Sequence[str] = ("/admin", "/api/")) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        path = str(scope["path"]).encode("utf-8", "surrogatepass")
        if _CONTROL.search(path) or has_control_characters(scope.get("query_string", b"")):
            await _refuse(send, 422, "control characters are not allowed in the address", "query")
            return
        kind = _content_type(scope)
        if kind not in (_FORM, _JSON):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            await _refuse(send, 413, "the form is too large")
        elif has_control_characters(body) if kind == _FORM else _json_has_control(body):
            await _refuse(send, 422, "control characters are not allowed in a form", "body")
        else:
            await self.app(scope, _replay(body, receive), send)


def _json_has_control(body: bytes) -> bool:
    """Whether a string (or key) of the JSON ``body`` holds a control character."""
    try:
        document = json.loads(body)
    except ValueError:
        return False  # not JSON: FastAPI answers it with its own 422
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _CONTROL_TEXT.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _content_type(scope: Scope) -> bytes:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bytes(value).split(b";")[0].strip().lower()
    return b""


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # a disconnect, when the app waits for one
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(send: Send, status: int, message: str, where: str | None = None) -> None:
    # A 422 has the shape FastAPI documents for every invalid request (HTTPValidationError in
    # the OpenAPI schema), so a client reads it like any other validation error.
    detail: object = message
    if where is not None:
        detail = [{"loc": [where], "msg": message, "type": "value_error"}]
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
