"""The emulator's HTTP face: the Calendar API, batch, Google's OAuth endpoints and the admin ones.

API calls are served both at the root and under ``/calendar/v3`` (the client's
``api_endpoint`` replaces the whole base URL); batch at ``/batch`` and
``/batch/calendar/v3`` (https://developers.google.com/calendar/api/guides/batch). Any
``Authorization`` header is accepted unless access tokens are required
(:mod:`sync.emulator.oauth`). Google's OAuth 2.0 endpoints
(https://developers.google.com/identity/protocols/oauth2/web-server) are served at the
same base URL, with the paths Google gives them:

- ``GET /o/oauth2/v2/auth`` (and the older ``/o/oauth2/auth``): the consent page, or
  Google's error page; the page's form posts to ``/o/oauth2/v2/auth/consent``
- ``POST /token``: code exchange and refresh; ``POST /revoke`` (``token`` in the form or
  the query); ``GET /tokeninfo?access_token=…`` (also ``/oauth2/v3/tokeninfo``)

Admin endpoints, under ``/_emulator``:

- ``POST /_emulator/faults`` (a fault object or a list), ``GET`` lists, ``DELETE`` clears
- ``POST /_emulator/quota`` ``{"per_user": n, "per_project": m, "window": 60}`` enforces
  Google's per-minute quotas (:mod:`sync.emulator.quota`); ``GET`` shows it, the calls
  refused and the most admitted in one window
- ``GET /_emulator/stats`` counts per API method; ``DELETE`` or ``POST /_emulator/stats/reset``
- ``POST /_emulator/sync-tokens/expire`` makes every sync token answer 410
- ``PUT /_emulator/calendars/{id}/access-role`` with ``{"accessRole": "writer"}`` changes the
  account's role on a calendar (its sync tokens then answer 410, as after an ACL change)
- ``POST /_emulator/oauth/clients`` registers an OAuth client (or a list of them,
  :mod:`sync.emulator.oauth_clients`); ``GET`` lists them
- ``PUT /_emulator/oauth/required`` with ``{"required": true}`` makes every Calendar call
  need a live access token
- ``POST /_emulator/oauth/advance`` with ``{"seconds": 3600}`` moves the OAuth clock on,
  so codes and access tokens expire
- ``DELETE /_emulator/oauth/grants``: the account removes every app's access, as from its
  Google Account page
- ``POST /_emulator/reset`` returns to the seeded state
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sync.emulator.api import ApiRequest, ApiResponse
from sync.emulator.batch import run_batch
from sync.emulator.consent import CONSENT_PATH, consent_page, error_page
from sync.emulator.errors import ApiError, OAuthError
from sync.emulator.faults import Fault
from sync.emulator.oauth_clients import OAuthClient
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
        base, headers = str(request.base_url), dict(request.headers)
        answer = await run_in_threadpool(_batch, account, content_type, body, base, headers)
        return _to_http(answer)

    routes = [
        *_admin_routes(account),
        *_oauth_admin_routes(account),
        *_oauth_routes(account),
        Route("/batch", batch, methods=["POST"]),
        Route("/batch/calendar/v3", batch, methods=["POST"]),
        Route("/{path:path}", api, methods=_ALL_METHODS),
    ]
    return Starlette(routes=routes)


def _batch(
    account: EmulatedAccount, content_type: str, body: bytes, base: str, headers: dict[str, str]
) -> ApiResponse:
    try:
        account.api.admit("batch")
        return run_batch(account.api, content_type, body, base, headers)
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


def _oauth_routes(account: EmulatedAccount) -> list[Route]:
    server = account.oauth

    async def authorize(request: Request) -> Response:
        try:
            answer = server.begin(_query(request))
        except OAuthError as err:
            return HTMLResponse(error_page(err), status_code=err.status)
        if isinstance(answer, str):
            return RedirectResponse(answer, status_code=302)
        return HTMLResponse(consent_page(answer), headers=_NO_STORE)

    async def consent(request: Request) -> Response:
        form = await _form(request)
        allow = _one(form, "decision") == "allow"
        try:
            where = server.decide(_one(form, "consent") or "", allow, form.get("scope", []))
        except OAuthError as err:
            return HTMLResponse(error_page(err), status_code=err.status)
        return RedirectResponse(where, status_code=302)

    async def token(request: Request) -> Response:
        form = await _form(request)
        try:
            return _oauth_json(server.token(form, request.headers.get("authorization")))
        except OAuthError as err:
            return _oauth_json(err.as_json(), err.status)

    async def revoke(request: Request) -> Response:
        form = {**_query(request), **(await _form(request))}
        try:
            server.revoke(_one(form, "token"))
        except OAuthError as err:
            return _oauth_json(err.as_json(), err.status)
        return Response(status_code=200)

    async def token_info(request: Request) -> Response:
        form = {**_query(request), **(await _form(request))}
        try:
            return _oauth_json(server.token_info(_one(form, "access_token")))
        except OAuthError as err:
            return _oauth_json(err.as_json(), err.status)

    return [
        Route("/o/oauth2/v2/auth", authorize, methods=["GET"]),
        Route("/o/oauth2/auth", authorize, methods=["GET"]),
        Route(CONSENT_PATH, consent, methods=["POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/revoke", revoke, methods=["GET", "POST"]),
        Route("/tokeninfo", token_info, methods=["GET", "POST"]),
        Route("/oauth2/v3/tokeninfo", token_info, methods=["GET", "POST"]),
    ]


def _oauth_admin_routes(account: EmulatedAccount) -> list[Route]:
    server = account.oauth

    async def add_clients(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"null")
            for item in data if isinstance(data, list) else [data]:
                server.add_client(OAuthClient.from_json(item))
        except ValueError as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        return await list_clients(request)

    async def list_clients(request: Request) -> Response:
        return JSONResponse({"clients": [c.as_json() for c in server.clients()]})

    async def set_required(request: Request) -> Response:
        data = json.loads(await request.body() or b"null")
        if not isinstance(data, dict) or not isinstance(data.get("required"), bool):
            return JSONResponse({"error": "expected {'required': true|false}"}, 400)
        server.required = data["required"]
        return Response(status_code=204)

    async def advance(request: Request) -> Response:
        data = json.loads(await request.body() or b"null")
        seconds = data.get("seconds") if isinstance(data, dict) else None
        if not isinstance(seconds, int | float) or seconds < 0:
            return JSONResponse({"error": "expected {'seconds': n} with n >= 0"}, 400)
        server.advance(float(seconds))
        return Response(status_code=204)

    async def remove_grants(request: Request) -> Response:
        server.revoke_all()
        return Response(status_code=204)

    return [
        Route("/_emulator/oauth/clients", add_clients, methods=["POST"]),
        Route("/_emulator/oauth/clients", list_clients, methods=["GET"]),
        Route("/_emulator/oauth/required", set_required, methods=["PUT"]),
        Route("/_emulator/oauth/advance", advance, methods=["POST"]),
        Route("/_emulator/oauth/grants", remove_grants, methods=["DELETE"]),
    ]


# RFC 6749 §5.1: token responses must not be cached.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_json(body: Mapping[str, object], status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, headers=_NO_STORE)


def _query(request: Request) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(request.url.query, keep_blank_values=True)


async def _form(request: Request) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body, as OAuth requests send them."""
    body = (await request.body()).decode("utf-8", "replace")
    return urllib.parse.parse_qs(body, keep_blank_values=True)


def _one(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[-1] if values else None
