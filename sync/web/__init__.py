"""The HTTP app (FastAPI on uvicorn): feeds today, admin pages later (SPEC §7, §8).

Built by :func:`sync.web.app.create_app` from a settings object; each area is a router
made by a function that receives what it needs (no globals, nothing at import time).
"""

from sync.web.app import create_app

__all__ = ["create_app"]
