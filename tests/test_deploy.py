"""Deployment recipes: docker-compose.yml and deploy/k8s parse and hang together.

Docker and a cluster are not available to the suite, so the files are checked as
data: the Compose services, health checks and start order; every Kubernetes
manifest against the API's JSON schemas (offline, from kubernetes-validate) and
the references between them (labels, ports, the Secret, the migration command).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.config import Settings
from tests.conftest import ROOT
from tests.image import Dockerfile

COMPOSE = ROOT / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"
K8S_VERSIONS = ("1.29", kubernetes_validate.latest_version())


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def _manifests() -> dict[str, dict[str, Any]]:
    """Every Kubernetes object in deploy/k8s (and its examples), by kind."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted([*K8S.glob("*.yaml"), *K8S.glob("examples/*.yaml")]):
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc["kind"] not in found, f"two {doc['kind']} objects"
            found[doc["kind"]] = doc
    return found


def _env_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


# --- docker compose -------------------------------------------------------------------


def test_compose_runs_postgres_two_replicas_and_a_proxy() -> None:
    """db, a one-off migration, two bot replicas and Caddy."""
    services = _compose()["services"]
    assert set(services) == {"db", "migrate", "bot-a", "bot-b", "proxy"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["proxy"]["image"].startswith("caddy:")
    assert services["migrate"]["command"] == ["deploy-drill", "db", "upgrade"]


def test_compose_replicas_start_after_the_database_and_the_migration() -> None:
    """Replicas wait for a healthy database and a finished migration (and are checked by the
    image's own HEALTHCHECK); the proxy waits for both replicas."""
    services = _compose()["services"]
    for name in ("bot-a", "bot-b"):
        bot = services[name]
        assert bot["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
        assert bot["env_file"] == ".env"
        assert "@db:5432/" in bot["environment"]["DATABASE_URL"]
        assert bot["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert bot["healthcheck"]["test"] == ["CMD", *Dockerfile.read().healthcheck]
        assert bot["restart"] == "unless-stopped"
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    assert services["proxy"]["depends_on"] == {
        "bot-a": {"condition": "service_healthy"},
        "bot-b": {"condition": "service_healthy"},
    }


def test_compose_services_have_health_checks() -> None:
    """Every long-running service says when it is healthy."""
    services = _compose()["services"]
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    for name in ("bot-a", "bot-b", "proxy"):
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check["retries"] >= 1, name


def test_the_proxy_balances_both_replicas_on_their_health() -> None:
    """The Caddyfile the proxy mounts sends /slack/* to both replicas, checked on /healthz."""
    proxy = _compose()["services"]["proxy"]
    [mount] = [v for v in proxy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro")]
    caddyfile = (ROOT / mount.split(":")[0]).read_text()
    assert re.search(r"reverse_proxy\s+bot-a:3000\s+bot-b:3000", caddyfile)
    assert "health_uri /healthz" in caddyfile
    assert "/slack/*" in caddyfile
    assert "{$DRILL_DOMAIN}" in caddyfile


def test_compose_variables_are_documented_in_env_example() -> None:
    """Every ${VAR} the compose file needs is in .env.example."""
    needed = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    assert needed and needed <= documented


# --- kubernetes -----------------------------------------------------------------------


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_manifest_matches_the_kubernetes_schema(version: str) -> None:
    """Strict JSON-schema validation (unknown fields are errors) of every object."""
    objects = [doc for doc in _manifests().values() if doc["kind"] != "Kustomization"]
    assert len(objects) >= 6
    for doc in objects:
        kubernetes_validate.validate(doc, version, strict=True)


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    """`kubectl apply -k deploy/k8s` applies them all; the example Secret is never applied."""
    kustomization = _manifests()["Kustomization"]
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert [image["name"] for image in kustomization["images"]] == ["deploy-drill"]


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    [container] = doc["spec"]["template"]["spec"]["containers"]
    return dict(container)


def test_deployment_probes_health_and_is_sized_from_the_benchmarks() -> None:
    """Readiness and liveness on /healthz; a quarter core, and memory above the RSS measured in
    BENCHMARKS.md (serve and its grading worker, 167 MB summed after 10,000 answers; 172 MB
    measured before is the bound kept here)."""
    deployment = _manifests()["Deployment"]
    container = _container(deployment)
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port_names == {"http": 3000}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    requests = container["resources"]["requests"]
    assert requests["cpu"] == "250m"
    mib = {"Mi": 1, "Gi": 1024}
    request = int(requests["memory"][:-2]) * mib[requests["memory"][-2:]]
    limit = container["resources"]["limits"]["memory"]
    assert request * 1.048576 >= 172 * 1.1  # MiB vs MB, with 10% headroom
    assert int(limit[:-2]) * mib[limit[-2:]] >= 2 * request
    assert container["command"] == ["deploy-drill", "serve"]
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 10


def test_secrets_come_from_the_secret_and_name_real_settings() -> None:
    """Deployment and Job read the same Secret; its keys and the ConfigMap's are settings."""
    manifests = _manifests()
    secret = manifests["Secret"]
    deployment_refs = {
        ref["secretRef"]["name"]
        for ref in _container(manifests["Deployment"])["envFrom"]
        if "secretRef" in ref
    }
    job_refs = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for env in _container(manifests["Job"])["env"]
        if "valueFrom" in env
    }
    assert deployment_refs == job_refs == {secret["metadata"]["name"]}
    commented = set(
        re.findall(r"#\s*([A-Z][A-Z0-9_]+):", (K8S / "examples" / "secret.yaml").read_text())
    )
    keys = set(secret["stringData"]) | commented
    assert {"DATABASE_URL", "SLACK_SIGNING_SECRET", "TOKEN_ENCRYPTION_KEY"} <= keys
    assert keys <= _env_names()
    assert set(manifests["ConfigMap"]["data"]) - {"MPLCONFIGDIR"} <= _env_names()


def test_migration_job_runs_db_upgrade() -> None:
    """The Job is `deploy-drill db upgrade`, retried on failure."""
    job = _manifests()["Job"]
    assert _container(job)["command"] == ["deploy-drill", "db", "upgrade"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
    assert job["spec"]["backoffLimit"] >= 1


def test_service_ingress_and_budget_select_the_bot_pods() -> None:
    """Service, PodDisruptionBudget and Ingress point at the Deployment's pods and port."""
    manifests = _manifests()
    labels = manifests["Deployment"]["spec"]["template"]["metadata"]["labels"]
    service = manifests["Service"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert (
        manifests["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items()
        <= labels.items()
    )
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    backends = [
        path["backend"]["service"]
        for rule in manifests["Ingress"]["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert {b["name"] for b in backends} == {service["metadata"]["name"]}
    assert {b["port"]["name"] for b in backends} == {"http"}
    paths = {
        path["path"]
        for rule in manifests["Ingress"]["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert "/slack" in paths and "/metrics" not in paths


# --- docs -------------------------------------------------------------------------------


def test_new_settings_are_documented() -> None:
    """The multi-workspace variables are in the README's table and .env.example."""
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in (
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_STATE_SECRET",
        "SLACK_SCOPES",
        "SLACK_REDIRECT_URI",
        "TOKEN_ENCRYPTION_KEY",
    ):
        assert f"`{name}`" in readme, name
        assert f"{name}=" in example, name
    for heading in ("## Running in production", "## Scaling", "## Multi-workspace install"):
        assert heading in readme
    assert "BENCHMARKS.md" in readme
    assert Path(ROOT / "docker-compose.yml").exists()
