"""The demo's OAuth client: so a person can Connect Google from the browser (SPEC §9).

Google sends the browser back only to a redirect URI registered on the OAuth client
(https://developers.google.com/identity/protocols/oauth2/web-server#uri-validation), so
the demo registers a web client on its emulator whose one redirect URI is the demo web
app's own callback, port included, and writes that client's secrets file (the
``web`` document the Cloud Console downloads) beside the demo's database for
``CLINIC_SYNC_GOOGLE_CLIENT_SECRETS``. Its secret is new every run.
"""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path

from sync.emulator import EmulatorServer, OAuthClient
from sync.sources.google.web_oauth import CALLBACK_PATH

__all__ = ["DEMO_CLIENT_ID", "free_port", "seed_oauth_client"]

DEMO_CLIENT_ID = "clinic-sync-demo.apps.googleusercontent.com"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, for a demo asked to pick one (``--port 0``)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def seed_oauth_client(emulator: EmulatorServer, public_url: str, folder: Path) -> Path:
    """Register the demo's web client on ``emulator``; the secrets file written for it."""
    callback = f"{public_url}{CALLBACK_PATH}"
    secret = secrets.token_urlsafe(24)
    emulator.add_oauth_client(OAuthClient(DEMO_CLIENT_ID, secret, (callback,), "clinic-sync demo"))
    document = {
        "web": {
            "client_id": DEMO_CLIENT_ID,
            "client_secret": secret,
            "redirect_uris": [callback],
            "auth_uri": emulator.auth_uri,
            "token_uri": emulator.token_uri,
        }
    }
    path = folder / "clinic-sync-demo.client_secret.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path
