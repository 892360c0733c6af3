"""Describe the machine a benchmark ran on, for the figures it prints."""
from __future__ import annotations

import os
import platform


def describe() -> str:
    """Return CPU model, cores, memory and Python version on one line."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kib = int(next(line.split()[1] for line in handle if line.startswith("MemTotal")))
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{model}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def describe_services() -> str:
    """Return which database and Redis the stack uses, as the environment chooses them (no credentials)."""
    database = os.environ.get("DATABASE_URL", "SQLite (var/)").split("@")[-1]
    return f"database: {database}; redis: {'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded'}"
