"""The batch endpoint: many API calls in one multipart/mixed HTTP request.

Follows https://developers.google.com/calendar/api/guides/batch: each part is an
``application/http`` request with a ``Content-ID``; the answer is multipart/mixed with one
``application/http`` response per part, in order, its Content-ID prefixed with ``response-``.
"You're limited to 1000 calls in a single batch request": a larger batch is refused whole
with 400. The body is read as the MIME document it is (RFC 2046 multipart, RFC 5322 header
fields, folded lines included) by the standard library's ``email`` parser, and so are the
header fields of each inner request. Each call runs through :class:`CalendarApi` exactly as it
would on its own, so it is counted and may meet an injected fault on its own. "Headers of
the outer batch request, except for the Content- headers such as Content-Type, apply to
every request in the batch", unless a call sets the same header itself: the outer
``Authorization`` is how each call gets its access token.
"""

from __future__ import annotations

import email.parser
import email.policy
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus

from sync.emulator.api import ApiRequest, ApiResponse, CalendarApi
from sync.emulator.errors import ApiError

__all__ = ["MAX_CALLS", "run_batch"]

MAX_CALLS = 1000
# compat32 keeps payload bytes as sent; the RFC-aware policy would re-encode bodies.
_PARSER = email.parser.BytesParser(policy=email.policy.compat32)
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


@dataclass(frozen=True)
class _Part:
    content_id: str
    request: ApiRequest


def run_batch(
    api: CalendarApi,
    content_type: str,
    body: bytes,
    base_url: str,
    outer_headers: Mapping[str, str] | None = None,
) -> ApiResponse:
    """Run every call of a batch request and answer them in one multipart response."""
    shared = {
        k.lower(): v
        for k, v in (outer_headers or {}).items()
        if not k.lower().startswith("content-")
    }
    parts = [_inherit(part, shared) for part in _parts(content_type, body, base_url)]
    if not parts:
        raise ApiError.bad_request("The batch request contains no calls.")
    if len(parts) > MAX_CALLS:
        raise ApiError.bad_request(f"A batch request may contain at most {MAX_CALLS} calls.")
    boundary = f"batch_{secrets.token_hex(12)}"
    answers = [_answer(part.content_id, api.handle(part.request), boundary) for part in parts]
    payload = b"".join(answers) + f"--{boundary}--\r\n".encode()
    return ApiResponse(200, payload, {"Content-Type": f"multipart/mixed; boundary={boundary}"})


def _inherit(part: _Part, shared: Mapping[str, str]) -> _Part:
    if not shared:
        return part
    request = part.request
    headers = {**shared, **request.headers}
    inner = ApiRequest(
        request.method, request.path, request.params, headers, request.body, request.base_url
    )
    return _Part(part.content_id, inner)


def _parts(content_type: str, body: bytes, base_url: str) -> list[_Part]:
    document = _PARSER.parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if document.get_content_type() != "multipart/mixed":
        raise ApiError.bad_request("A batch request must be multipart/mixed.")
    if not document.get_boundary():
        raise ApiError.bad_request("The multipart/mixed batch request has no boundary.")
    if not document.is_multipart():
        return []
    return [_part(part, base_url) for part in _sub_messages(document)]


def _sub_messages(document: Message) -> list[Message]:
    payload = document.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _part(part: Message, base_url: str) -> _Part:
    content_id = " ".join(str(part.get("Content-ID", "")).split())
    raw = part.get_payload(decode=True)
    return _Part(content_id, _request(raw if isinstance(raw, bytes) else b"", base_url))


def _request(payload: bytes, base_url: str) -> ApiRequest:
    """One inner HTTP request: request line, header fields (possibly folded), body."""
    line, _, rest = payload.lstrip(b"\r\n").partition(b"\n")
    try:
        method, target, _version = line.decode("latin-1").strip().split(" ", 2)
    except ValueError as err:
        raise ApiError.bad_request("A batch part is not an HTTP request.") from err
    head, body = _split_head(rest)
    fields = _HEADERS.parsebytes(head)
    headers = {name.lower(): " ".join(str(value).split()) for name, value in fields.items()}
    length = headers.get("content-length", "")
    if length.isdigit():
        body = body[: int(length)]
    url = urllib.parse.urlsplit(target)
    params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    return ApiRequest(method.upper(), url.path, params, headers, body, base_url)


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """Header block and body, split at the first empty line (CRLF or bare LF)."""
    ends = [(data.find(sep), sep) for sep in (b"\r\n\r\n", b"\n\n") if data.find(sep) >= 0]
    if data.startswith((b"\r\n", b"\n")):
        return b"", data.lstrip(b"\r").removeprefix(b"\n")
    if not ends:
        return data, b""
    index, sep = min(ends)
    return data[: index + len(sep)], data[index + len(sep) :]


def _answer(content_id: str, response: ApiResponse, boundary: str) -> bytes:
    inner_id = content_id.strip().removeprefix("<").removesuffix(">")
    phrase = HTTPStatus(response.status).phrase
    head = [
        f"--{boundary}",
        "Content-Type: application/http",
        f"Content-ID: <response-{inner_id}>",
        "",
    ]
    status = [f"HTTP/1.1 {response.status} {phrase}"]
    status += [f"{k}: {v}" for k, v in response.headers.items()]
    status += [f"Content-Length: {len(response.body)}", "", ""]
    return "\r\n".join(head + status).encode() + response.body + b"\r\n"
