"""compose.yaml agrees with the settings, the management commands and the image (Docker itself is not run here)."""
import os
import re
import runpy
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.core.management import get_commands, load_command_class

from asyncrest import conf

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("migrate", "web", "worker", "reconciler")
DOCKERFILE = (ROOT / "Dockerfile").read_text()


class RecordingEnviron(dict):
    """An os.environ that remembers every variable the code asked for."""

    def __init__(self, values: dict):
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


def interpolate(value, shell: dict) -> str:
    """Resolve compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` against `shell`."""
    def one(match):
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if shell.get(name):
            return shell[name]
        if op == ":?":
            raise AssertionError(f"compose refuses to start without {name}: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, str(value))


def app_environment(service: str, shell: dict) -> dict[str, str]:
    """The variables compose gives `service`'s container, as `docker compose up` would with `shell`."""
    env = {}
    for name, value in SERVICES[service]["environment"].items():
        resolved = shell.get(name) if value is None else interpolate(value, shell)
        if resolved is not None:
            env[name] = resolved
    return env


def site_settings(monkeypatch, tmp_path, env: dict) -> tuple[dict, set[str]]:
    """Run demosite/settings.py in a fresh namespace with exactly `env`; return its settings and what it read."""
    environ = RecordingEnviron({**env, "ASYNCREST_VAR_DIR": str(tmp_path)})
    monkeypatch.setattr(os, "environ", environ)
    values = runpy.run_path(str(ROOT / "demosite" / "settings.py"))
    return values, environ.read


def command(service: str) -> list[str]:
    return [str(part) for part in SERVICES[service]["command"]]


def dockerfile_env(name: str) -> str:
    match = re.search(rf"^ENV .*\b{name}=(\S+)", DOCKERFILE, re.MULTILINE)
    assert match, f"the Dockerfile sets no {name}"
    return match.group(1)


SHELL = {"SECRET_KEY": "k" * 50, "OPENAI_API_KEY": "sk-test", "ALLOWED_HOSTS": "api.example.com"}


def test_the_stack_has_its_services_and_volumes():
    assert set(SERVICES) == {"redis", "postgres", "migrate", "web", "proxy", "worker", "reconciler"}
    assert set(COMPOSE["volumes"]) == {"redis-data", "postgres-data", "media"}


def test_redis_keeps_queued_jobs_in_an_append_only_file_on_a_volume():
    redis = command("redis")
    assert redis[0] == "redis-server"
    assert redis[redis.index("--appendonly") + 1] == "yes"
    assert "redis-data:/data" in SERVICES["redis"]["volumes"]


def test_services_wait_for_healthy_dependencies():
    for name in ("redis", "postgres", "web"):
        assert SERVICES[name]["healthcheck"]["test"][0] == "CMD", name
    assert SERVICES["migrate"]["depends_on"] == {
        "redis": {"condition": "service_healthy"}, "postgres": {"condition": "service_healthy"},
    }
    for name in ("web", "worker", "reconciler"):
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("service", ["migrate", "worker", "reconciler"])
def test_each_manage_py_command_exists_and_accepts_its_options(service):
    python, manage, name, *args = command(service)
    assert (python, manage) == ("python", "manage.py")
    app = get_commands().get(name)
    assert app is not None, f"compose runs `manage.py {name}`, which no installed app provides"
    # Parsing fails (SystemExit) on an option the command does not have.
    load_command_class(app, name).create_parser("manage.py", name).parse_args(args)


def test_the_web_server_runs_the_settings_wsgi_application_on_the_published_port(settings):
    gunicorn = command("web")
    assert gunicorn[0] == "gunicorn"
    module, _, attribute = gunicorn[1].partition(":")
    assert f"{module}.{attribute}" == settings.WSGI_APPLICATION
    assert gunicorn[gunicorn.index("--bind") + 1] == "0.0.0.0:8000"
    assert "ports" not in SERVICES["web"] and SERVICES["web"]["expose"] == ["8000"]
    assert re.search(r'CMD \["gunicorn", "demosite\.wsgi:application"', DOCKERFILE)


def test_only_the_proxy_is_published_and_it_passes_everything_to_web():
    """Slow clients are nginx's to hold (tests/test_nginx.py runs this file in Debian's nginx)."""
    proxy = SERVICES["proxy"]
    assert proxy["ports"] == ["8000:8000"]
    assert proxy["image"].startswith("nginx:")
    assert proxy["depends_on"] == {"web": {"condition": "service_healthy"}}
    [mount] = proxy["volumes"]
    source, target, mode = mount.split(":")
    assert (target, mode) == ("/etc/nginx/conf.d/default.conf", "ro")
    conf = (ROOT / source).read_text()
    assert "server web:8000;" in conf and "listen 8000;" in conf
    for directive in ("client_header_timeout 10s;", "client_body_timeout 10s;", "proxy_request_buffering on;"):
        assert directive in conf
    assert interpolate(SERVICES["web"]["environment"]["PROXY_HOPS"], {}) == "1", "the proxy adds one hop"


def test_the_web_servers_processes_come_from_web_concurrency():
    # gunicorn itself reads WEB_CONCURRENCY when --workers is not given, as in the Dockerfile.
    processes = command("web")[command("web").index("--workers") + 1]
    assert interpolate(processes, {}) == "3"
    assert interpolate(processes, {"WEB_CONCURRENCY": "5"}) == "5"
    assert "--workers" not in DOCKERFILE and dockerfile_env("WEB_CONCURRENCY") == "3"


def test_workers_serve_the_order_queue_with_the_asyncrest_worker_class_and_can_be_scaled(monkeypatch, tmp_path):
    values, _ = site_settings(monkeypatch, tmp_path, app_environment("worker", SHELL))
    asyncrest = {**conf.DEFAULTS, **values["ASYNCREST"]}
    _, _, name, queue, *options = command("worker")
    assert name == "rqworker"
    assert queue == asyncrest["QUEUE"] and queue in values["RQ_QUEUES"]
    assert options[options.index("--worker-class") + 1] == asyncrest["WORKER_CLASS"]
    assert "container_name" not in SERVICES["worker"] and "ports" not in SERVICES["worker"]
    assert SERVICES["worker"]["stop_signal"] == "SIGTERM"


def test_every_variable_compose_sets_is_one_the_settings_read(monkeypatch, tmp_path):
    for service in APP_SERVICES:
        environment = set(SERVICES[service]["environment"])
        _, read = site_settings(monkeypatch, tmp_path, app_environment(service, SHELL))
        assert environment - read == set(), f"{service}: compose sets variables the settings never read"


def test_compose_settings_point_at_its_own_postgres_and_redis(monkeypatch, tmp_path):
    values, _ = site_settings(monkeypatch, tmp_path, app_environment("web", SHELL))
    database = values["DATABASES"]["default"]
    postgres = SERVICES["postgres"]["environment"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"]) == ("postgres", 5432)
    assert (database["USER"], database["PASSWORD"], database["NAME"]) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"]
    )
    redis = urlsplit(values["REDIS_URL"])
    assert redis.hostname in SERVICES and redis.hostname == "redis"
    assert values["DEBUG"] is False and values["SECRET_KEY"] == SHELL["SECRET_KEY"]
    assert values["TAGGING"]["BACKEND"] == "tagging.taggers.openai.OpenAITagger"


def test_the_web_healthcheck_is_allowed_and_not_redirected(monkeypatch, tmp_path):
    values, _ = site_settings(monkeypatch, tmp_path, app_environment("web", SHELL))
    probe = shlex.join(SERVICES["web"]["healthcheck"]["test"])
    url = urlsplit(re.search(r"http://[^'\" ]+", probe).group(0))
    assert url.hostname in values["ALLOWED_HOSTS"], "whatever ALLOWED_HOSTS is set to"
    assert "api.example.com" in values["ALLOWED_HOSTS"]
    assert url.port == 8000 and url.path == "/healthz/"
    if values.get("SECURE_SSL_REDIRECT"):
        assert any(re.search(pattern, url.path.lstrip("/")) for pattern in values["SECURE_REDIRECT_EXEMPT"])


def test_web_and_workers_share_the_uploads_volume_at_media_root(monkeypatch, tmp_path):
    values, _ = site_settings(monkeypatch, tmp_path, app_environment("web", SHELL))
    media = Path(values["MEDIA_ROOT"]).relative_to(values["VAR_DIR"])
    target = f"{dockerfile_env('ASYNCREST_VAR_DIR')}/{media}"
    for service in ("web", "worker"):
        assert f"media:{target}" in SERVICES[service]["volumes"], service
    assert f"mkdir -p {target}" in DOCKERFILE, "the volume starts owned by the app's user"


def test_the_worker_class_can_be_chosen_by_environment(monkeypatch, tmp_path):
    values, _ = site_settings(monkeypatch, tmp_path, {"DEBUG": "1"})
    assert "WORKER_CLASS" not in values["ASYNCREST"], "unset: asyncrest's default"
    forking = "asyncrest.worker.ForkingWorker"
    values, _ = site_settings(monkeypatch, tmp_path, {"DEBUG": "1", "ASYNCREST_WORKER_CLASS": forking})
    assert values["ASYNCREST"]["WORKER_CLASS"] == forking
