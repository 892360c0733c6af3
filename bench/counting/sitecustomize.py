"""Counts, in every process of a benchmark run, the SQL statements and Redis round trips it sends.

bench/peers.py puts this directory first on PYTHONPATH with BENCH_COUNTS set to a
directory: each process then writes its two counts to BENCH_COUNTS/<pid> every 0.2 s, and
the benchmark adds up the files of the processes it measures. A statement is one call of
a cursor's execute() or executemany(); a round trip is one packed command sent on a Redis
connection (a pipeline is one). Every system measured gets the same counting.
"""
import os
import threading
import time

DIRECTORY = os.environ.get("BENCH_COUNTS")
counts = {"sql": 0, "redis": 0}
_writer_pid = None


def _write_forever(pid: int) -> None:
    path = os.path.join(DIRECTORY, str(pid))
    last = None
    while True:
        now = (counts["sql"], counts["redis"])
        if now != last:
            with open(path + ".tmp", "w") as out:
                out.write(f"{now[0]} {now[1]}")
            os.replace(path + ".tmp", path)
            last = now
        time.sleep(0.2)


def _count(kind: str) -> None:
    global _writer_pid
    counts[kind] += 1
    pid = os.getpid()
    if _writer_pid != pid:  # first count in this process (or in a forked child): start its writer
        _writer_pid = pid
        threading.Thread(target=_write_forever, args=(pid,), daemon=True).start()


def _install() -> None:
    try:
        from django.db.backends import utils
    except ImportError:
        utils = None
    if utils is not None:
        execute, executemany = utils.CursorWrapper.execute, utils.CursorWrapper.executemany

        def counted_execute(self, *args, **kwargs):
            _count("sql")
            return execute(self, *args, **kwargs)

        def counted_executemany(self, *args, **kwargs):
            _count("sql")
            return executemany(self, *args, **kwargs)

        utils.CursorWrapper.execute, utils.CursorWrapper.executemany = counted_execute, counted_executemany
    try:
        from redis import connection
    except ImportError:
        return
    send = connection.AbstractConnection.send_packed_command

    def counted_send(self, command, check_health=True):
        _count("redis")
        return send(self, command, check_health)

    connection.AbstractConnection.send_packed_command = counted_send


def _reset_in_child() -> None:
    """A forked child counts from zero: what its parent sent is the parent's."""
    global _writer_pid
    counts.update(sql=0, redis=0)
    _writer_pid = None


if DIRECTORY:
    _install()
    os.register_at_fork(after_in_child=_reset_in_child)
