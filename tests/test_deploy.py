"""The deployment files in deploy/ agree with the code.

No container engine runs here, so these tests check what can be checked without one:
the files parse; the Slack app manifests request exactly the scopes the code's Web API
calls need; every command is a real ``interview-bot`` command; every probe hits a route
the server answers (and the Docker health check really tells 200 from 503); and only
environment variables the code reads are set, with the required ones always provided.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.engine import make_url

from bot.cli import build_parser
from bot.config import load_config_file
from bot.server import EVENTS_PATH, HEALTH_PATH, BotWsgiApp, make_http_server, stop_http_server
from tests.harness import BOT_TOKEN, SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
MANIFEST_HTTP = DEPLOY / "slack-app-manifest.yaml"
MANIFEST_SOCKET = DEPLOY / "slack-app-manifest.socket.yaml"
MANIFESTS = (MANIFEST_HTTP, MANIFEST_SOCKET)
CODE_DIRS = ("bot", "handlers")
EXE = "interview-bot"

# Every Slack Web API method the code calls, and the bot scopes it needs
# (https://api.slack.com/methods). A new call fails test_every_called_method_has_a_scope_decision
# until it is added here, and the manifests get its scopes.
SCOPES_BY_METHOD: dict[str, set[str]] = {
    # To a channel the bot is in; to a user ID it posts in the app's DM (no im:write needed).
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    # files.getUploadURLExternal + files.completeUploadExternal (slack_sdk >= 3.23 no longer
    # calls files.info afterwards, so no files:read).
    "files_upload_v2": {"files:write"},
    "usergroups_users_list": {"usergroups:read"},
    "users_info": {"users:read"},
    "users_lookupByEmail": {"users:read.email"},
    # Views need a trigger_id or the user's App Home, no scope.
    "views_open": set(),
    "views_publish": set(),
    "views_push": set(),
    "views_update": set(),
}
# Slack only grants users:read.email together with users:read.
SCOPE_PREREQUISITES: dict[str, set[str]] = {"users:read.email": {"users:read"}}
# Bot events the code subscribes to, and the scopes they need.
SCOPES_BY_EVENT: dict[str, set[str]] = {"app_home_opened": set()}
SLASH_COMMAND_SCOPE = "commands"

# Environment: read by the postgres container only, never by the bot.
POSTGRES_VARS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
# What `serve --http` cannot do without.
SERVE_REQUIRED = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL"}


# --- helpers ---------------------------------------------------------------------------------


def code_files() -> list[Path]:
    return sorted(p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py"))


def web_api_methods() -> set[str]:
    """The WebClient's Web API methods (``api_call`` too: a raw call must be decided as well)."""
    own = {name for name in vars(WebClient) if not name.startswith("_")}
    return own | {"api_call"}


def called_methods() -> dict[str, list[str]]:
    """Every ``<anything>.<WebClient method>(...)`` call in bot/ and handlers/, with locations.

    ``api_call("chat.postMessage", ...)`` counts as ``chat_postMessage``. An ``api_call`` with a
    computed method name counts as ``api_call`` (undecidable, so the test fails), except the
    pass-through inside an ``api_call`` override (a WebClient subclass forwarding every call).
    """
    methods = web_api_methods()
    found: dict[str, list[str]] = {}

    def visit(node: ast.AST, path: Path, function: str | None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in methods
        ):
            name: str | None = node.func.attr
            if name == "api_call":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    name = first.value.replace(".", "_")
                elif function == "api_call":
                    name = None  # the override forwarding to WebClient.api_call
            if name is not None:
                found.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
        for child in ast.iter_child_nodes(node):
            visit(child, path, function)

    for path in code_files():
        visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), path, None)
    return found


def registered(kind: str) -> set[str]:
    """String arguments of ``app.<kind>("...")`` in bot/ and handlers/ (commands, events)."""
    names: set[str] = set()
    for path in code_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == kind
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "app"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.add(node.args[0].value)
    return names


def load_yaml(path: Path) -> Any:
    docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    assert len(docs) == 1, f"{path}: expected one YAML document"
    return docs[0]


def manifest_scopes(path: Path) -> set[str]:
    return set(load_yaml(path)["oauth_config"]["scopes"]["bot"])


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "Dockerfile ends in a line continuation"
    return instructions


def docker_args(name: str) -> list[str]:
    values = [rest for keyword, rest in dockerfile() if keyword == name]
    assert len(values) == 1, f"expected one {name}"
    return [values[0]]


def exec_form(text: str) -> list[str]:
    """A JSON-array (exec form) instruction; shell form would not get SIGTERM."""
    value = json.loads(text)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), text
    return value


def docker_cmd() -> list[str]:
    return exec_form(docker_args("CMD")[0])


def docker_healthcheck() -> list[str]:
    rest = docker_args("HEALTHCHECK")[0]
    options, sep, command = rest.partition("CMD ")
    assert sep, "HEALTHCHECK must run a command"
    assert all(opt.startswith("--") for opt in options.split()), options
    return exec_form(command)


def parse_cli(argv: list[str]) -> Any:
    assert argv[0] == EXE, f"not an {EXE} command: {argv}"
    return build_parser().parse_args(argv[1:])


def compose() -> dict[str, Any]:
    return load_yaml(DEPLOY / "compose.yaml")  # type: ignore[no-any-return]


def k8s(name: str) -> dict[str, Any]:
    return load_yaml(K8S / name)  # type: ignore[no-any-return]


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f".env.example: bad line {line!r}"
        assert name not in values, f".env.example: {name} twice"
        values[name] = value
    return values


def code_env_vars() -> set[str]:
    """Every environment variable the bot reads (bot/config.py, plus any direct reads)."""
    names = set(
        re.findall(
            r'(?:env\.get\(|_secret\(env,\s*)"([A-Z][A-Z0-9_]*)"',
            (ROOT / "bot" / "config.py").read_text(encoding="utf-8"),
        )
    )
    from bot.config import SOURCE_SECRETS

    names |= set(SOURCE_SECRETS.values())  # read through one table, not one call each
    direct = r'os\.(?:environ\.get\(|getenv\(|environ\[)\s*"([A-Z][A-Z0-9_]*)"'
    for package in ("bot", "handlers", "sources", "storage", "rubric"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(direct, path.read_text(encoding="utf-8")))
    return names


def pod_spec(name: str) -> dict[str, Any]:
    return k8s(name)["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def only_container(spec: dict[str, Any]) -> dict[str, Any]:
    containers = spec["containers"]
    assert len(containers) == 1
    return containers[0]  # type: ignore[no-any-return]


# --- everything parses -----------------------------------------------------------------------


def test_every_yaml_file_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
    assert len(files) >= 8
    for path in files:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert docs and all(isinstance(doc, dict) for doc in docs), path


# --- Slack app manifests ---------------------------------------------------------------------


def test_the_scanner_sees_the_code_s_slack_calls() -> None:
    # guards against a scanner that finds nothing and so passes every check below
    calls = called_methods()
    assert {"chat_postMessage", "views_open", "views_publish", "users_info"} <= set(calls)


def test_the_scope_table_names_real_web_client_methods() -> None:
    assert set(SCOPES_BY_METHOD) <= web_api_methods() - {"api_call"}


def test_every_called_method_has_a_scope_decision() -> None:
    undecided = {m: where for m, where in called_methods().items() if m not in SCOPES_BY_METHOD}
    assert not undecided, (
        f"new Slack Web API calls {undecided}: add them to SCOPES_BY_METHOD with the bot "
        "scopes they need (https://api.slack.com/methods), and those scopes to both manifests"
    )


def required_scopes() -> set[str]:
    scopes = set().union(*(SCOPES_BY_METHOD[m] for m in called_methods() if m in SCOPES_BY_METHOD))
    scopes |= set().union(*(SCOPES_BY_EVENT.get(e, set()) for e in registered("event")))
    if registered("command"):
        scopes.add(SLASH_COMMAND_SCOPE)
    return scopes


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_requests_exactly_the_scopes_the_code_uses(path: Path) -> None:
    declared = manifest_scopes(path)
    needed = required_scopes()
    assert not needed - declared, f"{path.name} lacks {sorted(needed - declared)}"
    assert not declared - needed, f"{path.name} requests unused {sorted(declared - needed)}"
    for scope, prerequisites in SCOPE_PREREQUISITES.items():
        if scope in declared:
            assert prerequisites <= declared, f"{scope} needs {prerequisites}"


def test_the_commands_scope_is_there_because_of_the_slash_command() -> None:
    for path in MANIFESTS:
        manifest = load_yaml(path)
        assert manifest["features"]["slash_commands"]
        assert SLASH_COMMAND_SCOPE in manifest_scopes(path)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_has_the_surfaces_the_code_listens_on(path: Path) -> None:
    manifest = load_yaml(path)
    assert manifest["_metadata"] == {"major_version": 1}
    features = manifest["features"]
    assert features["bot_user"] == {"display_name": "interview-bot", "always_online": True}
    assert features["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }
    commands = {c["command"]: c for c in features["slash_commands"]}
    assert set(commands) == registered("command") == {"/interview"}
    interview = commands["/interview"]
    assert interview["description"]
    assert interview["usage_hint"] == "help | list | summary <id> | schedule | cancel <id>"
    settings = manifest["settings"]
    events = set(settings["event_subscriptions"]["bot_events"])
    assert events == registered("event") == {"app_home_opened"}
    assert events <= set(SCOPES_BY_EVENT)
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_http_manifest_sends_everything_to_the_events_route() -> None:
    manifest = load_yaml(MANIFEST_HTTP)
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    urls = [
        manifest["features"]["slash_commands"][0]["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    for url in urls:
        assert url.startswith("https://") and url.endswith(EVENTS_PATH), url
    assert EVENTS_PATH == "/slack/events"


def strip_transport(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: strip_transport(v)
            for k, v in value.items()
            if k not in ("url", "request_url", "socket_mode_enabled")
        }
    if isinstance(value, list):
        return [strip_transport(v) for v in value]
    return value


def url_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        here = {k for k in value if k in ("url", "request_url")}
        return here.union(*(url_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(url_keys(v) for v in value))
    return set()


def test_socket_manifest_is_the_http_one_without_urls() -> None:
    socket = load_yaml(MANIFEST_SOCKET)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert not url_keys(socket)
    assert url_keys(load_yaml(MANIFEST_HTTP)) == {"url", "request_url"}
    assert strip_transport(socket) == strip_transport(load_yaml(MANIFEST_HTTP))


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_base_user_port_and_cmd() -> None:
    instructions = dockerfile()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and re.fullmatch(r"\d+(:\d+)?", users[-1]), "USER must be a numeric uid"
    assert int(users[-1].split(":")[0]) != 0
    assert docker_args("EXPOSE") == ["3000"]
    cmd = docker_cmd()
    args = parse_cli(cmd)
    assert args.command == "serve" and args.http and not args.socket
    assert args.port == 3000


def test_dockerfile_installs_dependencies_before_copying_the_source() -> None:
    instructions = dockerfile()
    keywords = [k for k, _ in instructions]
    copies = [(i, rest.split()) for i, (k, rest) in enumerate(instructions) if k == "COPY"]
    runs = [(i, rest) for i, (k, rest) in enumerate(instructions) if k == "RUN"]
    assert copies[0][1][0] == "pyproject.toml"
    deps_run = next(i for i, rest in runs if "requirements" in rest)
    package_run = next(i for i, rest in runs if "--no-deps ." in rest)
    assert copies[0][0] < deps_run < copies[1][0] < package_run
    assert keywords.index("USER") > package_run  # installed as root, run as the user

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    copied = {parts[0].rstrip("/") for _, parts in copies}
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages | {pyproject["project"]["readme"], "pyproject.toml"} <= copied

    # the dependency layer's own script yields exactly pyproject's dependencies
    words = shlex.split(instructions[deps_run][1])
    assert words[:2] == ["python", "-c"]
    out = subprocess.run(
        [sys.executable, "-c", words[2]], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == pyproject["project"]["dependencies"]


def test_dockerignore_lets_in_what_the_build_copies() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"  # an allow-list: .env, databases and venvs never reach the context
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {rest.split()[0].rstrip("/") for k, rest in dockerfile() if k == "COPY"}
    assert copied <= allowed
    assert "**/.env" in lines


def test_dockerfile_bakes_in_no_secrets() -> None:
    for keyword, rest in dockerfile():
        if keyword in ("ENV", "ARG"):
            names = set(re.findall(r"([A-Z][A-Z0-9_]*)=", rest)) | {rest.split("=")[0].split()[0]}
            assert not names & (code_env_vars() | POSTGRES_VARS), f"{keyword} {rest}"


def healthcheck_code(argv: list[str]) -> str:
    assert argv[:2] == ["python", "-c"], argv
    code = argv[2]
    urls = re.findall(r"'(http://[^']+)'", code)
    assert urls == [f"http://127.0.0.1:3000{HEALTH_PATH}"], urls
    return code


def test_healthcheck_url_matches_the_served_port_and_route() -> None:
    healthcheck_code(docker_healthcheck())
    assert parse_cli(docker_cmd()).port == 3000


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BotWsgiApp, int]]:
    app = App(signing_secret=SIGNING_SECRET, token=BOT_TOKEN, token_verification_enabled=False)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'health.db'}")
    wsgi = BotWsgiApp(app, engine)
    server = make_http_server(wsgi, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield wsgi, int(server.effective_port)  # type: ignore[union-attr]
    finally:
        stop_http_server(server, thread)
        engine.dispose()


def test_docker_healthcheck_fails_until_ready_then_passes(
    served: tuple[BotWsgiApp, int],
) -> None:
    wsgi, port = served
    code = healthcheck_code(docker_healthcheck()).replace("127.0.0.1:3000", f"127.0.0.1:{port}")

    def run() -> int:
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, timeout=30
        ).returncode

    assert run() != 0  # 503 "starting"
    wsgi.ready.set()
    assert run() == 0


# --- Compose ---------------------------------------------------------------------------------


def test_compose_services_and_order() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "bot"}
    postgres, migrate, bot = services["postgres"], services["migrate"], services["bot"]
    assert postgres["image"].startswith("postgres:16")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert bot["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert migrate["image"] == bot["image"]
    for service in (migrate, bot):
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["env_file"] == ".env"
    assert "3000:3000" in bot["ports"]


def test_compose_commands_are_real_cli_commands() -> None:
    services = compose()["services"]
    migrate = parse_cli(services["migrate"]["command"])
    assert (migrate.command, migrate.db_command) == ("db", "upgrade")
    bot = parse_cli(services["bot"]["command"])
    assert bot.command == "serve" and bot.http and bot.port == 3000
    assert services["bot"]["command"] == docker_cmd()


def test_compose_healthcheck_is_the_image_one() -> None:
    test = compose()["services"]["bot"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert test[1:] == docker_healthcheck()


def test_compose_interpolates_only_variables_from_env_example() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    assert interpolated == POSTGRES_VARS
    assert interpolated <= set(env_example())
    postgres_env = set(compose()["services"]["postgres"]["environment"])
    assert postgres_env == POSTGRES_VARS


# --- environment -----------------------------------------------------------------------------


def test_the_code_reads_the_documented_variables() -> None:
    assert {
        "DATABASE_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "INTERVIEW_BOT_CONFIG",
    } <= code_env_vars()


def test_env_example_names_every_variable_and_only_real_ones() -> None:
    names = set(env_example())
    assert not names - code_env_vars() - POSTGRES_VARS, sorted(names - code_env_vars())
    assert code_env_vars() | POSTGRES_VARS <= names
    values = env_example()
    for name in SERVE_REQUIRED:
        assert values[name], f"{name} needs a (placeholder) value"


def test_env_example_database_url_matches_the_postgres_container() -> None:
    values = env_example()
    url = make_url(values["DATABASE_URL"])
    assert url.drivername == "postgresql+psycopg"
    assert url.host == "postgres" and url.host in compose()["services"]
    assert (url.port or 5432) == 5432
    assert url.username == values["POSTGRES_USER"]
    assert url.password == values["POSTGRES_PASSWORD"]
    assert url.database == values["POSTGRES_DB"]


# --- Kubernetes ------------------------------------------------------------------------------


def test_kubernetes_secret_and_env_provide_what_serving_needs() -> None:
    secret = k8s("secret.example.yaml")
    assert secret["kind"] == "Secret"
    keys = set(secret["stringData"])
    assert "data" not in secret  # placeholders in clear text, never base64 "real" values
    for name in ("deployment.yaml", "migration-job.yaml"):
        container = only_container(pod_spec(name))
        refs = [e["secretRef"]["name"] for e in container["envFrom"]]
        assert refs == [secret["metadata"]["name"]]
        env = {e["name"] for e in container.get("env", [])}
        assert not (keys | env) - code_env_vars(), sorted((keys | env) - code_env_vars())
    assert keys >= SERVE_REQUIRED


def test_kubernetes_config_file_is_mounted_and_valid(tmp_path: Path) -> None:
    configmap = k8s("configmap.yaml")
    for name in ("deployment.yaml", "migration-job.yaml"):
        spec = pod_spec(name)
        container = only_container(spec)
        env = {e["name"]: e["value"] for e in container["env"]}
        config_path = Path(env["INTERVIEW_BOT_CONFIG"])
        volumes = {v["name"]: v for v in spec["volumes"]}
        mount = next(
            m for m in container["volumeMounts"] if Path(m["mountPath"]) == config_path.parent
        )
        assert volumes[mount["name"]]["configMap"]["name"] == configmap["metadata"]["name"]
        assert config_path.name in configmap["data"]
    for key, text in configmap["data"].items():
        path = tmp_path / key
        path.write_text(text, encoding="utf-8")
        config = load_config_file(path)  # raises on an unknown key or a bad value
        assert config.database.auto_migrate is False  # the Job migrates, not the replicas


def test_kubernetes_deployment() -> None:
    deployment = k8s("deployment.yaml")
    assert deployment["kind"] == "Deployment"
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    pod = pod_spec("deployment.yaml")
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["securityContext"]["runAsNonRoot"] is True
    users = [rest for keyword, rest in dockerfile() if keyword == "USER"]
    assert pod["securityContext"]["runAsUser"] == int(users[-1].split(":")[0])
    container = only_container(pod)
    args = parse_cli(container["command"])
    assert args.command == "serve" and args.http and not args.socket
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": args.port}
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == HEALTH_PATH
        assert ports.get(get["port"], get["port"]) == args.port
    resources = container["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) == {"cpu", "memory"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_kubernetes_scrape_annotations_name_a_served_route(tmp_path: Path) -> None:
    annotations = k8s("deployment.yaml")["spec"]["template"]["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/scrape") != "true":
        return
    container = only_container(pod_spec("deployment.yaml"))
    assert int(annotations["prometheus.io/port"]) == parse_cli(container["command"]).port
    app = App(signing_secret=SIGNING_SECRET, token=BOT_TOKEN, token_verification_enabled=False)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'metrics.db'}")
    statuses: list[str] = []
    environ = {"PATH_INFO": annotations["prometheus.io/path"], "REQUEST_METHOD": "GET"}
    body = BotWsgiApp(app, engine)(environ, lambda status, _headers: statuses.append(status))
    engine.dispose()
    assert statuses == ["200 OK"], "the scrape path is not served"
    assert b"".join(body)


def test_kubernetes_migration_job() -> None:
    job = k8s("migration-job.yaml")
    assert job["kind"] == "Job"
    pod = pod_spec("migration-job.yaml")
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = only_container(pod)
    args = parse_cli(container["command"])
    assert (args.command, args.db_command) == ("db", "upgrade")
    assert container["image"] == only_container(pod_spec("deployment.yaml"))["image"]


def test_kubernetes_service_reaches_the_pods() -> None:
    service = k8s("service.yaml")
    assert service["kind"] == "Service"
    labels = k8s("deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    port_names = {p["name"] for p in only_container(pod_spec("deployment.yaml"))["ports"]}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in port_names


# --- no secrets, honest README ---------------------------------------------------------------


def deploy_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.is_file())


def test_no_real_looking_secrets_in_deploy() -> None:
    patterns = [
        r"xox[abprs]-\d",  # Slack tokens: xoxb-1234...
        r"xapp-\d",
        r"\b[0-9a-f]{32}\b",  # a signing secret
    ]
    assert not any(p.name == ".env" for p in deploy_files())
    for path in deploy_files():
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            assert not re.search(pattern, text), f"{path.relative_to(ROOT)} matches {pattern}"


def test_deploy_readme_commands_are_real_and_it_says_what_was_not_run() -> None:
    text = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert "Docker and Kubernetes were not run in CI" in " ".join(text.split())
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    commands = [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip().startswith(f"{EXE} ")
    ]
    assert len(commands) >= 2
    for line in commands:
        parse_cli(shlex.split(line))
