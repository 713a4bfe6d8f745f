"""Deployment files validate offline: Kubernetes schemas, the Compose spec, Dockerfile rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S_VERSION = "1.30.0"
MANIFESTS = sorted(p for p in (DEPLOY / "k8s").glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_kubernetes_manifest_validates_against_the_strict_schema(path):
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def test_kustomization_lists_every_manifest():
    listed = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in MANIFESTS)


def _kinds() -> dict[str, dict]:
    out = {}
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            out[document["kind"]] = document
    return out


def test_deployment_probes_resources_and_non_root():
    deployment = _kinds()["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["cpu"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert deployment["spec"]["replicas"] >= 2
    # Replicas share the feedback store and JWT replay cache: the database URL is a Secret.
    refs = {next(iter(r)): r[next(iter(r))]["name"] for r in container["envFrom"]}
    assert refs["secretRef"] in {s["metadata"]["name"] for s in [_kinds()["Secret"]]}
    assert "postgresql" in _kinds()["Secret"]["stringData"]["CDS_DATABASE_URL"]


def test_hpa_and_pdb_target_the_deployment():
    kinds = _kinds()
    assert kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == "sarcoma-cds"
    assert kinds["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2
    labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels


def test_configmap_settings_are_valid_settings(tmp_path, monkeypatch):
    from cds_hooks.settings import Settings

    data = dict(_kinds()["ConfigMap"]["data"])
    clients = tmp_path / "trusted-clients.yaml"
    clients.write_text(data.pop("trusted-clients.yaml"))
    data["CDS_TRUSTED_CLIENTS_FILE"] = str(clients)
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.auth_mode == "jwt"
    assert settings.fhir_allowlist == ["https://fhir.hospital.example.org/api/FHIR/R4"]


def test_compose_file_validates_against_the_compose_spec():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(DEPLOY / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert set(compose["services"]) == {"cds", "db", "proxy"}
    assert "postgresql" in compose["services"]["cds"]["environment"]["CDS_DATABASE_URL"]
    # Issue 15: slow clients took the service down; only the buffering proxy is published.
    assert "ports" not in compose["services"]["cds"]
    assert compose["services"]["proxy"]["ports"] == ["127.0.0.1:8080:8080"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in compose["services"]["proxy"]["volumes"]


def test_the_proxy_buffers_requests_and_bounds_slow_clients():
    conf = (DEPLOY / "nginx.conf").read_text()
    lines = [line.split("#", 1)[0].strip() for line in conf.splitlines()]
    directives = {
        line.split()[0]: line.split()[1].rstrip(";") for line in lines if line.endswith(";")
    }
    assert directives["client_header_timeout"] == "10s"
    assert directives["client_body_timeout"] == "10s"
    assert directives["client_max_body_size"] == "5m"  # CDS_MAX_BODY_BYTES
    assert directives["proxy_request_buffering"] == "on"
    assert directives["proxy_next_upstream"] == "off"
    ingress = _kinds()["Ingress"]["metadata"]["annotations"]
    assert ingress["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
    assert ingress["nginx.ingress.kubernetes.io/proxy-body-size"] == "5m"


def test_pods_drain_before_they_stop():
    """Issue 15: SIGTERM reset the requests waiting in the accept queue; no preStop drain."""
    from cds_hooks.server import GRACEFUL_TIMEOUT_S

    pod = _kinds()["Deployment"]["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] >= int(pre_stop[1]) + GRACEFUL_TIMEOUT_S


def test_dockerfile_runs_as_non_root_with_a_healthcheck_and_no_build_tools():
    text = (DEPLOY / "Dockerfile").read_text()
    final_stage = text.split("\nFROM ")[-1]
    assert final_stage.startswith("python:3.11-slim")
    assert "USER 10001" in final_stage
    assert "HEALTHCHECK" in final_stage and "/healthz" in final_stage
    assert "apt-get" not in final_stage and "gcc" not in final_stage
    assert 'CMD ["sarcoma-cds", "serve"]' in final_stage  # the one production entry point


def test_gunicorn_settings_match_the_documented_production_settings():
    """Issue 15: ``serve`` ran with a 30 s worker timeout (README: 10 s) and never recycled
    workers; ``deploy/gunicorn.conf.py`` and ``serve`` now share one definition."""
    from cds_hooks.server import gunicorn_options
    from cds_hooks.settings import Settings

    options = gunicorn_options(Settings(host="127.0.0.1", auth_mode="off"))
    assert options["workers"] >= 1
    assert options["timeout"] == 10
    assert options["graceful_timeout"] >= options["timeout"]
    assert options["max_requests"] > 0 and options["max_requests_jitter"] > 0
    assert options["threads"] >= 2
    assert options["worker_class"] == "cds_hooks.http_worker.BufferingWorker"
    assert options["control_socket_disable"] is True
    assert options["accesslog"] is None
    conf = (DEPLOY / "gunicorn.conf.py").read_text()
    assert "gunicorn_options(" in conf and "prepare_metrics_dir()" in conf
    readme = (DEPLOY.parent / "README.md").read_text()
    assert "worker timeout (10 s)" in readme


def test_each_worker_collects_young_objects_less_often():
    """Issue 16: the collector's default threshold (700) scanned each call's parsed body again
    and again; each worker raises it after the fork (the floor of ``make bench`` too)."""
    import gc

    from cds_hooks.server import GC_YOUNG_THRESHOLD, gunicorn_options
    from cds_hooks.settings import Settings

    before = gc.get_threshold()
    try:
        gunicorn_options(Settings(host="127.0.0.1", auth_mode="off"))["post_fork"](None, None)
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.set_threshold(*before)
