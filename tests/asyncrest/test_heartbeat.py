"""The process's one heartbeat thread: beats while a block runs, none after, no thread per job."""
import os
import threading
import time

from asyncrest.worker.heartbeat import Heartbeat, beater


def heartbeat_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "asyncrest heartbeats"]


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_block_is_beaten_for_while_it_runs_and_never_after():
    beats = []
    with Heartbeat(lambda: beats.append(time.monotonic()) or True, name="t", interval=0.05):
        wait_until(lambda: len(beats) >= 3)
    count = len(beats)
    time.sleep(0.3)
    assert len(beats) == count, "no beat after the block"


def test_many_blocks_one_after_another_start_no_thread_each():
    beater()  # started once for the process
    before, threads = {thread.ident for thread in heartbeat_threads()}, threading.active_count()
    for _ in range(200):
        with Heartbeat(lambda: True, name="short", interval=10):
            assert threading.active_count() == threads
    assert {thread.ident for thread in heartbeat_threads()} == before and len(before) == 1


def test_blocks_at_once_each_get_their_beats():
    counts = {"a": 0, "b": 0}

    def beat(key):
        counts[key] += 1
        return True

    with Heartbeat(lambda: beat("a"), name="a", interval=0.03), Heartbeat(lambda: beat("b"), name="b", interval=0.07):
        wait_until(lambda: counts["a"] >= 6 and counts["b"] >= 2)
    assert counts["a"] > counts["b"], "each at its own interval"


def test_a_beat_that_says_nothing_is_left_ends_that_blocks_beats_only():
    stopped, other = [], []
    with Heartbeat(lambda: stopped.append(1) and False, name="gone", interval=0.02), \
            Heartbeat(lambda: other.append(1) or True, name="alive", interval=0.02):
        wait_until(lambda: len(other) >= 10)
    assert len(stopped) == 1


def test_a_failing_beat_is_retried_at_the_next_interval():
    calls = []

    def beat():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        return True

    with Heartbeat(beat, name="flaky", interval=0.02):
        wait_until(lambda: len(calls) >= 3)


def test_leaving_the_block_waits_for_a_beat_in_progress():
    started, finished = threading.Event(), []

    def slow_beat():
        started.set()
        time.sleep(0.3)
        finished.append(1)
        return True

    with Heartbeat(slow_beat, name="slow", interval=0.01):
        started.wait(5)
    assert finished == [1], "the block ended while its beat was still writing"


def test_a_forked_child_beats_with_a_thread_of_its_own():
    beater()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its parent's thread did not survive the fork
        try:
            beats = []
            with Heartbeat(lambda: beats.append(1) or True, name="child", interval=0.02):
                deadline = time.monotonic() + 5
                while len(beats) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
            os.write(write, str(len(beats)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert int(os.read(read, 10) or b"0") >= 2
