"""The batch endpoint: many API calls in one multipart/mixed HTTP request.

Follows https://developers.google.com/calendar/api/guides/batch: each part is an
``application/http`` request with a ``Content-ID``; the answer is multipart/mixed with one
``application/http`` response per part, in order, its Content-ID prefixed with ``response-``.
At most 50 calls per batch. Each call runs through :class:`CalendarApi` exactly as it would
on its own, so it is counted and may meet an injected fault on its own.
"""

from __future__ import annotations

import secrets
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus

from sync.emulator.api import ApiRequest, ApiResponse, CalendarApi
from sync.emulator.errors import ApiError

__all__ = ["MAX_CALLS", "run_batch"]

MAX_CALLS = 50


@dataclass(frozen=True)
class _Part:
    content_id: str
    request: ApiRequest


def run_batch(api: CalendarApi, content_type: str, body: bytes, base_url: str) -> ApiResponse:
    """Run every call of a batch request and answer them in one multipart response."""
    parts = _parts(body, _boundary(content_type), base_url)
    if not parts:
        raise ApiError.bad_request("The batch request contains no calls.")
    if len(parts) > MAX_CALLS:
        raise ApiError.bad_request(f"A batch request may contain at most {MAX_CALLS} calls.")
    boundary = f"batch_{secrets.token_hex(12)}"
    answers = [_answer(part.content_id, api.handle(part.request), boundary) for part in parts]
    payload = b"".join(answers) + f"--{boundary}--\r\n".encode()
    return ApiResponse(200, payload, {"Content-Type": f"multipart/mixed; boundary={boundary}"})


def _boundary(content_type: str) -> str:
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/mixed":
        raise ApiError.bad_request("A batch request must be multipart/mixed.")
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value:
            return value.strip('"')
    raise ApiError.bad_request("The multipart/mixed batch request has no boundary.")


def _parts(body: bytes, boundary: str, base_url: str) -> list[_Part]:
    chunks = body.split(b"--" + boundary.encode())[1:]
    parts = []
    for chunk in chunks:
        if chunk.startswith(b"--"):
            break
        headers, payload = _head_and_body(_trim(chunk))
        parts.append(_Part(headers.get("content-id", ""), _request(payload, base_url)))
    return parts


def _trim(chunk: bytes) -> bytes:
    """Drop the line break after the boundary and the one that belongs to the next boundary."""
    chunk = chunk.removeprefix(b"\r\n").removeprefix(b"\n")
    return chunk.removesuffix(b"\n").removesuffix(b"\r")


def _head_and_body(data: bytes) -> tuple[dict[str, str], bytes]:
    ends = [(data.find(sep), sep) for sep in (b"\r\n\r\n", b"\n\n") if data.find(sep) >= 0]
    if not ends:
        return _header_lines(data), b""
    index, sep = min(ends)
    return _header_lines(data[:index]), data[index + len(sep) :]


def _header_lines(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _request(payload: bytes, base_url: str) -> ApiRequest:
    line, _, rest = payload.partition(b"\n")
    try:
        method, target, _version = line.decode().strip().split(" ", 2)
    except ValueError as err:
        raise ApiError.bad_request("A batch part is not an HTTP request.") from err
    headers, body = _head_and_body(b"\n" + rest if rest.startswith((b"\r\n", b"\n")) else rest)
    if "content-length" in headers and headers["content-length"].isdigit():
        body = body[: int(headers["content-length"])]
    url = urllib.parse.urlsplit(target)
    params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    return ApiRequest(method.upper(), url.path, params, headers, body, base_url)


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
