"""The production files in deploy/ hold together: what docs/deployment.md promises of them is checked here.

nginx and systemd-analyze run for real (on CI a missing tool fails, it does not skip); Dockerfiles,
Kubernetes manifests and Helm values are read, since no image is built and no cluster is reached here.
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.conftest import on_ci

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX_CONF = (DEPLOY / "nginx" / "aduan.conf").read_text()
# App routes that are not in the OpenAPI schema, and the routes the public proxy must never pass on.
UNLISTED_ROUTES = [
    "/webhook", "/media/{attachment_id}", "/t/{ticket}", "/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect",
]
INTERNAL_ROUTES = {"/webhook", "/simulator/messages", "/redoc", "/docs/oauth2-redirect"}
SECRET_NAME = re.compile(r"(password|token|secret)$", re.I)


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        (pytest.fail if on_ci() else pytest.skip)(f"{name} is not installed (Debian: apt-get install -y nginx-light)")
    return path


@pytest.fixture(scope="module")
def app_routes() -> set[str]:
    from bot.app import create_app
    from bot.config import Settings

    settings = Settings(DATABASE_URL="sqlite://", PUBLIC_BASE_URL="https://aduan.example.go.id",
                        SIMULATOR_ENABLED=True, ACTIONS_TOKEN="t" * 32)
    return set(create_app(settings).openapi()["paths"]) | set(UNLISTED_ROUTES)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def nginx_tree(tmp: Path, conf: str = NGINX_CONF) -> Path:
    """A throwaway nginx.conf including aduan.conf, with a self-signed certificate; paths in tmp."""
    subprocess.run([tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=aduan.example.go.id", "-keyout", tmp / "key.pem", "-out", tmp / "cert.pem"],
                   check=True, capture_output=True)
    conf = (conf.replace("/etc/ssl/certs/aduan.example.go.id.crt", str(tmp / "cert.pem"))
            .replace("/etc/ssl/private/aduan.example.go.id.key", str(tmp / "key.pem"))
            .replace("/var/log/nginx/", f"{tmp}/"))
    (tmp / "aduan.conf").write_text(conf)
    temp = "".join(f"    {kind}_temp_path {tmp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp / "nginx.conf").write_text(f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\nhttp {{\n"
                                    f"    access_log {tmp}/access.log;\n{temp}    include {tmp}/aduan.conf;\n}}\n")
    return tmp / "nginx.conf"


def test_nginx_config_passes_nginx_t(tmp_path):
    conf = nginx_tree(tmp_path)
    result = subprocess.run([tool("nginx"), "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


class Upstream(BaseHTTPRequestHandler):
    """A stand-in app instance: answers every request with the path and scheme it was given."""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"path": self.path, "proto": self.headers.get("x-forwarded-proto")}).encode()
        self.send_response(200)
        self.send_header("x-upstream", "app")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args) -> None:
        pass


# (listener, method, path, status, what the app saw: its path, or None when the proxy answered itself)
ROUTING = [
    ("http", "GET", "/webhooks/twilio", 301, None),
    ("https", "POST", "/webhooks/twilio?x=1", 200, "/webhooks/twilio?x=1"),
    ("https", "POST", "/webhooks/twilio", 200, "/webhooks/twilio"),  # one of the two goes to the dead instance first
    ("https", "POST", "/webhooks/telegram", 200, "/webhooks/telegram"),
    ("https", "GET", "/webhooks/twilio", 403, None),
    ("https", "GET", "/api/v1/complaints?status=diterima", 200, "/api/v1/complaints?status=diterima"),
    ("https", "GET", "/health/ready", 200, "/health/ready"),
    ("https", "GET", "/t/1234-5678", 200, "/t/1234-5678"),
    ("https", "POST", "/t/1234-5678", 403, None),
    ("https", "GET", "/open311/v2/requests.json?status=open", 200, "/open311/v2/requests.json?status=open"),
    ("https", "POST", "/open311/v2/requests.xml", 200, "/open311/v2/requests.xml"),
    ("https", "POST", "/webhook?token=guess", 404, None),
    ("https", "POST", "/%77ebhook?token=guess", 404, None),
    ("https", "POST", "/simulator/messages", 404, None),
    ("https", "GET", "/redoc", 404, None),
    ("internal", "POST", "/webhook?token=t", 200, "/webhook?token=t"),
    ("internal", "GET", "/api/v1/complaints", 404, None),
]


@contextmanager
def running_nginx(tmp_path: Path) -> Iterator[dict[str, int]]:
    """A real nginx with aduan.conf on loopback ports, in front of a stand-in app and a stopped one; the ports."""
    stub = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    ports = {"http": free_port(), "https": free_port(), "internal": free_port()}
    conf = (NGINX_CONF.replace("listen 80;", f"listen 127.0.0.1:{ports['http']};")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{ports['https']} ssl;")
            .replace("listen 8080;", f"listen 127.0.0.1:{ports['internal']};")
            .replace("127.0.0.1:8001", f"127.0.0.1:{free_port()}")  # an instance that is down
            .replace("127.0.0.1:8002", f"127.0.0.1:{stub.server_port}"))
    conf = "\n".join(line for line in conf.splitlines() if "listen [::]" not in line)
    server = subprocess.Popen([tool("nginx"), "-p", str(tmp_path), "-c", str(nginx_tree(tmp_path, conf)), "-g", "daemon off;"])
    try:
        while not listening(ports["internal"]) and server.poll() is None:
            threading.Event().wait(0.05)
        assert server.poll() is None, "nginx did not start"
        yield ports
    finally:
        server.terminate()
        server.wait(10)
        stub.shutdown()


def send(ports: dict[str, int], listener: str, method: str, path: str) -> http.client.HTTPResponse:
    client = (http.client.HTTPSConnection("127.0.0.1", ports[listener], context=ssl._create_unverified_context())
              if listener == "https" else http.client.HTTPConnection("127.0.0.1", ports[listener]))
    client.request(method, path, body=b"Body=x" if method == "POST" else None, headers={"Host": "aduan.example.go.id"})
    return client.getresponse()


def test_nginx_passes_public_routes_on_and_blocks_internal_ones(tmp_path):
    with running_nginx(tmp_path) as ports:
        for listener, method, path, status, seen in ROUTING:
            response = send(ports, listener, method, path)
            answer = json.loads(response.read()) if response.getheader("x-upstream") else None
            assert (response.status, answer and answer["path"]) == (status, seen), (listener, method, path)
            assert answer is None or listener != "https" or answer["proto"] == "https"


# Secrets in query strings, sent to every kind of location: (listener, method, path, how the access log shows it;
# None: no query at all). Open311 keys (some clients put api_key in the query), media links' signatures, tokens.
SECRET_QUERIES = [
    ("http", "GET", "/open311/v2/requests.json?api_key=SECRET1&status=open",
     "/open311/v2/requests.json?api_key=***&status=open"),  # the redirect to https
    ("http", "GET", "/media/12?sig=SECRET2", "/media/12?sig=***"),
    ("https", "GET", "/media/12?exp=1&sig=SECRET3", None),
    ("https", "GET", "/open311/v2/requests.json?api_key=SECRET4", None),
    ("https", "POST", "/open311/v2/requests.json?api_key=SECRET5", None),
    ("https", "GET", "/t/1234-5678?sig=SECRET6&api_key=SECRET7&lang=en", "/t/1234-5678?sig=***&api_key=***&lang=en"),
    ("https", "GET", "/api/v1/complaints?api_key=SECRET8&API_KEY=SECRET9&sig=SECRET10&status=open",
     "/api/v1/complaints?api_key=***&API_KEY=***&sig=***&status=open"),
    ("https", "GET", "/api/v1/agencies?api_key=SECRET11&api_key=SECRET16&api_key=SECRET17&sig=SECRET18",
     "/api/v1/agencies?***"),  # more than three: no query
    ("https", "GET", "/open311/v2?api_key=SECRET12", None),  # nginx's redirect to /open311/v2/
    ("https", "GET", "/health/ready?api%5Fkey=SECRET13&x=1", "/health/ready?***"),  # a name the app decodes
    ("https", "GET", "/nowhere?token=SECRET14&sig=", "/nowhere?token=***&sig="),  # the 404 of `location /`
    ("internal", "POST", "/webhook?token=SECRET15", None),
]


def test_nginx_logs_api_keys_signatures_and_tokens_masked(tmp_path):
    with running_nginx(tmp_path) as ports:
        for listener, method, path, _ in SECRET_QUERIES:
            send(ports, listener, method, path).read()
    log = (tmp_path / "access.log").read_text()
    assert "SECRET" not in log
    for listener, method, path, logged in SECRET_QUERIES:
        assert f'"{method} {logged or path.split("?")[0]} HTTP/1.1"' in log, (listener, path)


def test_nginx_rate_limits_readiness(tmp_path):
    # public: without a limit a flood of probes reaches every instance (issue #26)
    with running_nginx(tmp_path) as ports:
        statuses = [send(ports, "https", "GET", "/health/ready").status for _ in range(30)]
    assert statuses[:5] == [200] * 5 and statuses.count(429) >= 15, statuses


def test_ingress_keeps_keys_and_signatures_out_of_its_access_log():
    # ingress-nginx logs the whole request line, and its log format is the controller's, not ours:
    # the routes whose clients put an api_key or a media signature in the query are not logged
    documents = list(yaml.safe_load_all((DEPLOY / "k8s" / "ingress.yaml").read_text()))
    for ingress in documents:
        paths = {p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
        unlogged = ingress["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/enable-access-log") == "false"
        assert unlogged == bool(paths & {"/open311/v2", "/media"}), ingress["metadata"]["name"]
        assert not unlogged or paths <= {"/open311/v2", "/media"}, "only these routes go unlogged"


def nginx_locations(server_marker: str) -> dict[tuple[bool, str], bool]:
    """(exact?, path) -> proxied? for the locations of the server block that holds server_marker."""
    block = next(part for part in NGINX_CONF.split("\nserver {") if server_marker in part)
    pattern = re.compile(r"location\s+(=\s+)?(\S+)\s*\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
    return {(bool(exact), path): "proxy_pass" in body for exact, path, body in pattern.findall(block)}


def test_every_app_route_is_proxied_or_blocked_on_purpose(app_routes):
    locations = nginx_locations("listen 443")
    for route in sorted(app_routes):
        match = locations.get((True, route))
        if match is None:
            prefixes = [path for exact, path in locations if not exact and route.startswith(path)]
            match = locations[(False, max(prefixes, key=len))]
        assert match == (route not in INTERNAL_ROUTES), route


def unit(name: str) -> dict[tuple[str, str], list[str]]:
    values: dict[tuple[str, str], list[str]] = {}
    section = ""
    for line in (DEPLOY / "systemd" / name).read_text().replace("\\\n", " ").splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values.setdefault((section, key), []).append(value)
    return values


HARDENING = {("Service", "DynamicUser"): "yes", ("Service", "ProtectSystem"): "strict",
             ("Service", "NoNewPrivileges"): "yes", ("Service", "PrivateTmp"): "yes"}
UNITS = {
    "aduan-migrate.service": {("Service", "Type"): "oneshot", ("Service", "EnvironmentFile"): "/etc/aduan/aduan.env"},
    "aduan-app@.service": {("Service", "Restart"): "on-failure", ("Service", "KillSignal"): "SIGTERM",
                           ("Service", "EnvironmentFile"): "/etc/aduan/aduan.env", ("Service", "Environment"): "APP_PORT=%i",
                           ("Unit", "Wants"): "aduan-migrate.service", ("Unit", "After"): "aduan-migrate.service"},
    "aduan-engine@.service": {("Service", "Restart"): "on-failure", ("Service", "KillSignal"): "SIGTERM",
                              ("Service", "EnvironmentFile"): "/etc/aduan/engine.env", ("Service", "IPAddressDeny"): "any"},
}


@pytest.mark.parametrize("name", UNITS)
def test_systemd_unit_is_hardened_and_starts_what_it_should(name):
    values = unit(name)
    for key, wanted in {**HARDENING, **UNITS[name]}.items():
        assert any(wanted in value.split() or wanted == value for value in values.get(key, [])), (name, key)
    assert ("Service", "TimeoutStopSec") in values or name == "aduan-migrate.service"
    command = " ".join(values[("Service", "ExecStart")])
    assert "--auth-token" not in command and "RASA_TOKEN" not in command  # `ps` shows command lines to everyone
    assert ("rasa_launcher.py run" in command) == ("engine" in name)


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    """Verified against a root of their own: systemd's units, stub executables for /opt/aduan."""
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    shutil.copytree(DEPLOY / "systemd", tmp_path / "etc/systemd/system")
    for stub in (tmp_path / "opt/aduan/.venv/app/bin/aduan", tmp_path / "opt/aduan/.venv/engine/bin/python"):
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    result = subprocess.run([tool("systemd-analyze"), "verify", "--man=no", f"--root={tmp_path}", "aduan-migrate.service",
                             "aduan-app@8001.service", "aduan-engine@5005.service"], capture_output=True, text=True)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


def test_procfile_runs_release_web_and_engine():
    lines = dict(line.split(": ", 1) for line in (DEPLOY / "Procfile").read_text().splitlines() if line and line[0] != "#")
    assert set(lines) == {"release", "web", "engine"}
    assert "aduan migrate" in lines["release"] and "aduan serve" in lines["web"]
    assert "rasa_launcher.py run" in lines["engine"] and "--auth-token" not in lines["engine"]


def dockerfile(name: str) -> list[list[str]]:
    text = (DEPLOY / name).read_text().replace("\\\n", " ")
    return [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def ignored(path: str, dockerignore: str) -> bool:
    verdict = False
    for pattern in (line for line in dockerignore.splitlines() if line and not line.startswith("#")):
        keep, pattern = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        if pattern == "**" or fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            verdict = not keep
    return verdict


@pytest.mark.parametrize("name, base", [("Dockerfile.app", "python:3.11-slim"), ("Dockerfile.engine", "rasa/rasa:3.6.21")])
def test_dockerfile_pins_its_base_runs_unprivileged_and_copies_what_exists(name, base):
    from bot.cli import model_path
    from bot.config import Settings

    lines = dockerfile(name)
    assert [line[1] for line in lines if line[0] == "FROM"] == [base]
    assert [line[1] for line in lines if line[0] == "USER"][-1].split(":")[0] not in ("root", "0")
    produced = {"${MODEL}": model_path(Settings()).relative_to(ROOT).as_posix()}  # written by `aduan train`
    for line in (line for line in lines if line[0] == "COPY"):
        for source in (word for word in line[1:-1] if not word.startswith("--")):
            path = produced.get(source, source)
            assert path in produced.values() or (ROOT / path).exists(), (name, source)
            assert not ignored(path, (DEPLOY / f"{name}.dockerignore").read_text()), (name, source)
    for secret in (".env", ".venv/app/bin/python", "var/aduan.db"):
        assert ignored(secret, (DEPLOY / f"{name}.dockerignore").read_text())
    if name == "Dockerfile.app":
        assert ["pip", "install", "--require-hashes"] in [line[1:4] for line in lines if line[0] == "RUN"]


YAML_KINDS = {"k8s/namespace.yaml": ["Namespace"], "k8s/config.yaml": ["ConfigMap"], "k8s/secret.example.yaml": ["Secret"],
              "k8s/app.yaml": ["Deployment", "Service", "PodDisruptionBudget", "PodDisruptionBudget"],
              "k8s/migrate-job.yaml": ["Job"], "k8s/ingress.yaml": ["Ingress", "Ingress", "Ingress"],
              "k8s/networkpolicy.yaml": ["NetworkPolicy", "NetworkPolicy"], "helm/rasa-values.yaml": [None]}


def walk(node, key=""):
    if isinstance(node, dict):
        yield key, node
        for child_key, child in node.items():
            yield from walk(child, child_key)
    elif isinstance(node, list):
        for child in node:
            yield from walk(child, key)


def test_yaml_files_parse_and_pin_images_probe_real_routes_and_hold_no_secrets(app_routes):
    assert sorted(str(p.relative_to(DEPLOY)) for p in DEPLOY.rglob("*.y*ml")) == sorted(YAML_KINDS)
    for name, kinds in YAML_KINDS.items():
        documents = list(yaml.safe_load_all((DEPLOY / name).read_text()))
        assert [doc.get("kind") for doc in documents] == kinds, name
        for key, node in (item for doc in documents for item in walk(doc)):
            for field, value in node.items():
                image = value if field == "image" and isinstance(value, str) else None
                if field == "image" and isinstance(value, dict):
                    image = f"{value['repository']}:{value['tag']}"
                assert image is None or (":" in image and not image.endswith(":latest")), (name, image)
                if isinstance(value, str) and value:
                    assert not SECRET_NAME.search(str(field)) and not re.search(r"://[^/\s@]+:[^/\s@]+@", value), (name, field)
            if SECRET_NAME.search(str(node.get("name", ""))) and "value" in node:
                assert not node["value"], (name, node["name"])
            if key.endswith("Probe") and name.startswith("k8s/"):
                assert node["httpGet"]["path"] in app_routes, (name, key)
            if key == "backend" and "service" in node:
                assert node["service"]["name"] == "aduan-app"
        for ingress in (doc for doc in documents if doc.get("kind") == "Ingress"):
            for rule in ingress["spec"]["rules"]:
                for path, kind in ((p["path"], p["pathType"]) for p in rule["http"]["paths"]):
                    routed = {r for r in app_routes if r == path or kind == "Prefix" and r.startswith(path + "/")}
                    assert routed and not routed & INTERNAL_ROUTES, path


# Top-level and applicationSettings keys of the rasa chart's values.yaml (helm.rasa.com, rasa 1.17.x).
CHART_KEYS = set("nameOverride fullnameOverride registry applicationSettings replicaCount networkPolicy args extraArgs "
                 "command extraEnv image serviceAccount podAnnotations podLabels deploymentAnnotations deploymentLabels "
                 "podSecurityContext securityContext service ingress resources autoscaling nodeSelector tolerations "
                 "affinity strategy livenessProbe readinessProbe initContainers extraContainers volumes volumeMounts "
                 "global postgresql redis rabbitmq nginx rasa-action-server duckling".split())
APPLICATION_KEYS = set("debugMode initialModel trainInitialModel port scheme token cors enableAPI credentials telemetry "
                       "endpoints rasaX".split())


def test_rasa_chart_values_use_the_charts_keys_and_feed_every_endpoint_variable():
    values = yaml.safe_load((DEPLOY / "helm" / "rasa-values.yaml").read_text())
    assert set(values) <= CHART_KEYS and set(values["applicationSettings"]) <= APPLICATION_KEYS
    assert "token" not in values["applicationSettings"]  # given with --set at install time
    assert "--auth-token" not in values["args"] and "/app/endpoints.cluster.yml" in values["args"]
    endpoints = [line for line in (ROOT / "endpoints.cluster.yml").read_text().splitlines() if not line.lstrip().startswith("#")]
    needed = set(re.findall(r"\$\{(\w+)\}", "\n".join(endpoints)))
    assert needed <= {env["name"] for env in values["extraEnv"]}


def test_deployment_doc_names_every_check_and_has_a_capacity_plan():
    doc = (ROOT / "docs" / "deployment.md").read_text()
    for check in (name for name in globals() if name.startswith("test_")):
        assert check in doc, check
    plan = doc.split("## Capacity plan\n", 1)[1]
    assert "turns per second" in plan and "PostgreSQL" in plan and "breaks first" in plan
