"""The emulator's HTTP face: the Calendar API, the batch endpoint and the admin endpoints.

API calls are served both at the root and under ``/calendar/v3`` (the client's
``api_endpoint`` replaces the whole base URL); batch at ``/batch`` and
``/batch/calendar/v3`` (https://developers.google.com/calendar/api/guides/batch). Any
``Authorization`` header is accepted. Admin endpoints, under ``/_emulator``:

- ``POST /_emulator/faults`` (a fault object or a list), ``GET`` lists, ``DELETE`` clears
- ``POST /_emulator/quota`` ``{"per_user": n, "per_project": m, "window": 60}`` enforces
  Google's per-minute quotas (:mod:`sync.emulator.quota`); ``GET`` shows it, the calls
  refused and the most admitted in one window
- ``GET /_emulator/stats`` counts per API method; ``DELETE`` or ``POST /_emulator/stats/reset``
- ``POST /_emulator/sync-tokens/expire`` makes every sync token answer 410
- ``PUT /_emulator/calendars/{id}/access-role`` with ``{"accessRole": "writer"}`` changes the
  account's role on a calendar (its sync tokens then answer 410, as after an ACL change)
- ``POST /_emulator/reset`` returns to the seeded state
"""

from __future__ import annotations

import json
import urllib.parse

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sync.emulator.api import ApiRequest, ApiResponse
from sync.emulator.batch import run_batch
from sync.emulator.errors import ApiError
from sync.emulator.faults import Fault
from sync.emulator.quota import Quota
from sync.emulator.service import EmulatedAccount

__all__ = ["create_app"]

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(account: EmulatedAccount) -> Starlette:
    """The ASGI app serving ``account``."""

    async def api(request: Request) -> Response:
        call = await _api_request(request)
        return _to_http(await run_in_threadpool(account.api.handle, call))

    async def batch(request: Request) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        base = str(request.base_url)
        return _to_http(await run_in_threadpool(_batch, account, content_type, body, base))

    routes = [
        *_admin_routes(account),
        Route("/batch", batch, methods=["POST"]),
        Route("/batch/calendar/v3", batch, methods=["POST"]),
        Route("/{path:path}", api, methods=_ALL_METHODS),
    ]
    return Starlette(routes=routes)


def _batch(account: EmulatedAccount, content_type: str, body: bytes, base: str) -> ApiResponse:
    try:
        account.api.admit("batch")
        return run_batch(account.api, content_type, body, base)
    except ApiError as error:
        return ApiResponse.of_error(error)


async def _api_request(request: Request) -> ApiRequest:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    params = urllib.parse.parse_qs(request.url.query, keep_blank_values=True)
    headers = {k.lower(): v for k, v in request.headers.items()}
    body = await request.body()
    return ApiRequest(
        request.method, raw_path.decode("latin-1"), params, headers, body, str(request.base_url)
    )


def _to_http(response: ApiResponse) -> Response:
    return Response(response.body, status_code=response.status, headers=response.headers)


def _admin_routes(account: EmulatedAccount) -> list[Route]:
    async def add_faults(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"null")
            for item in data if isinstance(data, list) else [data]:
                account.faults.add(Fault.from_json(item))
        except (ValueError, TypeError) as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        return JSONResponse({"faults": account.faults.pending()})

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"faults": account.faults.pending()})

    async def clear_faults(request: Request) -> Response:
        account.faults.clear()
        return Response(status_code=204)

    async def set_quota(request: Request) -> Response:
        try:
            account.api.quota.set(Quota.from_json(json.loads(await request.body() or b"null")))
        except (ValueError, TypeError) as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        return await show_quota(request)

    async def show_quota(request: Request) -> Response:
        limiter = account.api.quota
        counts = {"refused": limiter.refused, "busiest": limiter.busiest}
        return JSONResponse({**limiter.quota.as_json(), **counts})

    async def stats(request: Request) -> Response:
        return JSONResponse(account.stats.counts())

    async def reset_stats(request: Request) -> Response:
        account.stats.reset()
        return Response(status_code=204)

    async def expire(request: Request) -> Response:
        account.expire_sync_tokens()
        return Response(status_code=204)

    async def set_role(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"null")
            role = data["accessRole"] if isinstance(data, dict) else None
            account.set_access_role(request.path_params["calendar_id"], str(role))
        except (ValueError, KeyError) as err:
            return JSONResponse({"error": f"expected {{'accessRole': ...}}: {err}"}, 400)
        except ApiError as err:
            return _to_http(ApiResponse.of_error(err))
        return Response(status_code=204)

    async def reset(request: Request) -> Response:
        await run_in_threadpool(account.reset)
        return Response(status_code=204)

    return [
        Route("/_emulator/faults", add_faults, methods=["POST"]),
        Route("/_emulator/faults", list_faults, methods=["GET"]),
        Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
        Route("/_emulator/quota", set_quota, methods=["POST"]),
        Route("/_emulator/quota", show_quota, methods=["GET"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/stats", reset_stats, methods=["DELETE"]),
        Route("/_emulator/stats/reset", reset_stats, methods=["POST"]),
        Route("/_emulator/sync-tokens/expire", expire, methods=["POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/calendars/{calendar_id}/access-role", set_role, methods=["PUT"]),
    ]
