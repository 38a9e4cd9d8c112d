"""The deploy files run commands and settings that exist (README: Operations).

No container engine runs here, so the files are checked for what they ask of clinic-sync
(every command an image, unit or manifest runs is a real command, every
``CLINIC_SYNC_*`` variable they set is a real setting), against the published schemas
(the Compose specification as check-jsonschema ships it, Kubernetes' API schemas as
kubernetes-validate ships them), and for what an operator relies on: each role's health
check, no password in the files, versioned images, and proxies that publish only the
public paths. tests/ops/test_images.py follows the Dockerfile's steps.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from sync.cli import app
from sync.config import Settings

DEPLOY = Path(__file__).parents[2] / "deploy"
_VARIABLE = re.compile(r"\bCLINIC_SYNC_[A-Z0-9_]+\b")


def _yaml_documents() -> list[tuple[str, Any]]:
    found = []
    for path in sorted([*DEPLOY.glob("*.yml"), *DEPLOY.glob("kubernetes/*.yaml")]):
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def _commands() -> list[list[str]]:
    """Every clinic-sync command line the deploy files run."""
    lines: list[list[str]] = []
    for _, doc in _yaml_documents():
        lines += [list(map(str, value)) for value in _find(doc, ("command", "args"))]
    for unit in DEPLOY.glob("systemd/*.service"):
        for exec_line in re.findall(r"^Exec\w*=(.+)$", unit.read_text(), re.MULTILINE):
            words = shlex.split(exec_line)
            lines.append(words[1:])
    return lines


def _find(node: Any, keys: tuple[str, ...]) -> list[Any]:
    if isinstance(node, dict):
        hits = [value for key, value in node.items() if key in keys and isinstance(value, list)]
        return hits + [hit for value in node.values() for hit in _find(value, keys)]
    if isinstance(node, list):
        return [hit for item in node for hit in _find(item, keys)]
    return []


def test_deploy_yaml_parses() -> None:
    assert len(_yaml_documents()) >= 7


@pytest.mark.parametrize("line", _commands(), ids=" ".join)
def test_every_command_the_deploy_files_run_exists(line: list[str]) -> None:
    words = [word for word in line if not word.startswith("-")][:2]
    result = CliRunner().invoke(app, [*words, "--help"])
    assert result.exit_code == 0, f"clinic-sync {' '.join(words)}: {result.output}"


def test_every_setting_the_deploy_files_name_exists() -> None:
    known = {f"CLINIC_SYNC_{name.upper()}" for name in Settings.model_fields}
    named = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            named |= set(_VARIABLE.findall(path.read_text()))
    assert named - known == set()


# Schemas and structure: the files cannot drift into something an engine would refuse.

K8S_VERSION = "1.37.0"  # the newest schema kubernetes-validate ships
VERSION = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())["project"]["version"]
PRIVATE_PATHS = ("/metrics", "/healthz", "/docs", "/redoc", "/openapi.json")
PUBLIC_PATHS = ("/feeds/abc.ics", "/admin/login", "/api/v1/me", "/webhooks/google")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return loaded


def _kubernetes() -> list[tuple[str, dict[str, Any]]]:
    return [(name, doc) for name, doc in _yaml_documents() if name.endswith(".yaml")]


def test_compose_file_matches_the_compose_specification() -> None:
    schema_file = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_compose())]
    assert errors == []


@pytest.mark.parametrize(("name", "doc"), _kubernetes(), ids=lambda v: str(v)[:40])
def test_kubernetes_manifests_match_the_api_schemas(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_compose_takes_the_database_password_from_the_environment() -> None:
    compose = _compose()
    password = compose["services"]["db"]["environment"]["POSTGRES_PASSWORD"]
    assert password.startswith("${POSTGRES_PASSWORD:?")
    for service in compose["services"].values():
        url = service.get("environment", {}).get("CLINIC_SYNC_DATABASE_URL", "")
        assert url in ("",) or "${POSTGRES_PASSWORD:?" in url


def test_every_compose_role_has_its_own_check() -> None:
    services = _compose()["services"]
    assert services["migrate"]["healthcheck"] == {"disable": True}
    for role in ("web", "worker"):
        test = services[role]["healthcheck"]["test"]
        assert test[:4] == ["CMD", "clinic-sync", "probe", role], test
        result = CliRunner().invoke(app, [*test[2:4], "--help"])
        assert result.exit_code == 0, result.output
    assert "CLINIC_SYNC_WORKER_METRICS_PORT" in services["worker"]["environment"]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
    return containers


def test_kubernetes_images_are_versioned_and_every_long_running_role_is_probed() -> None:
    kinds = {}
    for _, doc in _kubernetes():
        kinds[doc["kind"]] = kinds.get(doc["kind"], 0) + 1
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in _containers(doc):
            assert container["image"] == f"clinic-sync:{VERSION}"
            if doc["kind"] == "Deployment":
                assert "livenessProbe" in container, doc["metadata"]["name"]
                assert "startupProbe" in container, doc["metadata"]["name"]
        if doc["kind"] == "Job":
            assert doc["spec"]["activeDeadlineSeconds"] > 0
    assert kinds["Deployment"] == 2
    assert kinds["Ingress"] == 1


def _config_map() -> dict[str, str]:
    (config,) = [doc for _, doc in _kubernetes() if doc["kind"] == "ConfigMap"]
    data: dict[str, str] = config["data"]
    return data


def test_kubernetes_trusts_the_ingress_for_client_addresses_and_serves_worker_metrics() -> None:
    data = _config_map()
    Settings(_env_file=None, **{k.removeprefix("CLINIC_SYNC_").lower(): v for k, v in data.items()})
    assert data["CLINIC_SYNC_TRUSTED_PROXIES"] != "127.0.0.1"
    (worker,) = [d for _, d in _kubernetes() if d["metadata"]["name"] == "clinic-sync-worker"]
    (container,) = _containers(worker)
    port = container["livenessProbe"]["httpGet"]["port"]
    assert {"name": port, "containerPort": int(data["CLINIC_SYNC_WORKER_METRICS_PORT"])} in (
        container["ports"]
    )


def _routed(prefixes: list[str], path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def _ingress_prefixes() -> list[str]:
    (ingress,) = [doc for _, doc in _kubernetes() if doc["kind"] == "Ingress"]
    return [p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]


def _nginx_prefixes() -> list[str]:
    text = (DEPLOY / "proxy" / "nginx.conf").read_text()
    assert re.search(r"location /\s*\{\s*return 404;", text)  # everything else is refused
    return re.findall(r"location (/\S+)\s*\{\s*proxy_pass", text)


def _caddy_prefixes() -> list[str]:
    text = (DEPLOY / "proxy" / "Caddyfile").read_text()
    assert re.search(r"handle \{\s*respond 404", text)  # everything else is refused
    assert text.count("reverse_proxy") == 1
    (matcher,) = re.findall(r"@public path (.+)", text)
    return [p.removesuffix("*") for p in matcher.split()]


@pytest.mark.parametrize("prefixes", [_ingress_prefixes, _nginx_prefixes, _caddy_prefixes])
def test_proxies_publish_the_public_paths_only(prefixes: Any) -> None:
    routed = prefixes()
    assert [p for p in PRIVATE_PATHS if _routed(routed, p)] == []
    assert [p for p in PUBLIC_PATHS if not _routed(routed, p)] == []


def test_the_systemd_unit_installs_from_the_repository() -> None:
    unit = (DEPLOY / "systemd" / "clinic-sync-worker.service").read_text()
    assert "pip install clinic-sync" not in unit
    assert re.search(r"pip install /\S+", unit)
