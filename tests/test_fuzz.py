"""Property-based fuzzing of the API from the OpenAPI schema it serves (schemathesis).

For every operation in `/api/schema/`, schemathesis sends the schema's examples, its
boundary and negative cases (the coverage phase) and `MAX_EXAMPLES` generated requests,
valid and invalid, authenticated with alice's token. Each answer must not be a 5xx and must
conform to the schema: a documented status code, a documented Content-Type, the documented
headers and a body that validates. Path ids are sometimes alice's real orders (one in each
status), logs and batches, so that detail views, cancelling and long polls are reached, not
only 404s.

    .venv/bin/pytest tests/test_fuzz.py          # a failure prints the request as curl

The app is called in-process through its WSGI handler (no server thread); each request
commits as in production, so placed orders are enqueued, on a queue of their own that no
worker serves and that is emptied afterwards. Deterministic: the same seed every run.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from asyncrest.models import Order
from tagging.models import Batch, Log, RejectedRow, Tag

# Transactional: the WSGI handler closes the database connection at the end of each request
# (Django's test client avoids that, a raw WSGI call does not), which would break the
# rollback-wrapped test of a plain django_db; and with real commits, orders are enqueued.
pytestmark = pytest.mark.django_db(transaction=True)

#: Generated requests per operation (the fuzzing phase), besides the examples and coverage cases.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 50))
SEED = int(os.environ.get("FUZZ_SEED", 20260101))

CHECKS = [
    not_a_server_error,            # no 5xx
    status_code_conformance,       # the status code is documented for the operation
    content_type_conformance,      # ...and so is the Content-Type
    response_headers_conformance,  # documented headers are present and valid
    response_schema_conformance,   # the body validates against the documented schema
    ignored_auth,                  # a 2xx with the token is 401 again without it, or with a wrong one
]

config = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
})
# The schema exactly as the site serves it. It is public, so loading it needs no database or
# token; it lists only the API: Swagger UI, the admin and the django-rq dashboard are not in it.
# Loaded at import, not with `schemathesis.pytest.from_fixture`: that lazy loader sets
# `Function._nodeid`, which pytest 9.2 no longer has (schemathesis 4.32.5).
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler(), config=config)

#: The ids of alice's objects, by the path that takes them (filled by the `alice` fixture).
REAL_IDS: dict[str, list] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, one of alice's real objects instead of a generated id."""
    real = [{**path_parameters, "id": value} for value in REAL_IDS.get(context.operation.path, [])]
    return st.one_of(st.just(path_parameters), st.sampled_from(real)) if real else st.just(path_parameters)


@schema.hook
def flatmap_query(context, query):
    """Half the time, list the logs of alice's real batch."""
    if context.operation.path != "/tagging/logs/" or not REAL_IDS.get("batch"):
        return st.just(query)
    return st.one_of(st.just(query), st.just({**(query or {}), "batch": REAL_IDS["batch"][0]}))


@pytest.fixture
def alice(transactional_db, redis_url, user, settings, tmp_path):
    """Alice's token, with an order in each status, a batch and a log; orders go to a queue of their own."""
    from asyncrest.broker.queues import get_queue

    queue = f"fuzz-{os.getpid()}"
    settings.RQ_QUEUES = {**settings.RQ_QUEUES, queue: {"URL": redis_url, "DEFAULT_TIMEOUT": 60}}
    # Long polls are reached (real pending orders, generated `Prefer: wait=N`): hold them 1 s, not 30.
    settings.ASYNCREST = {**settings.ASYNCREST, "QUEUE": queue, "LONG_POLL_MAX_WAIT": 1}
    settings.MEDIA_ROOT = tmp_path

    now = timezone.now()
    batch = Batch.objects.create(owner=user, filename="logs.csv", rows=3, tagged=2, rejected=1)
    RejectedRow.objects.create(batch=batch, line=4, reason="the entry is empty")
    logs = [
        Log.objects.create(owner=user, entry=entry, batch=batch, position=i, line=i + 2)
        for i, entry in enumerate(["wrote a program using Python Django", "=cmd|' /C calc'!A0"])
    ]
    logs.append(Log.objects.create(owner=user, entry="deployed Postgres on k8s"))
    for log, value in [(logs[0], "Python"), (logs[0], "Django"), (logs[2], "PostgreSQL")]:
        Tag.objects.create(log=log, value=value)
    orders = [
        Order(owner=user, resource="tests-sleep", input={"items": 3, "delay": 0.05}),
        Order(owner=user, resource="tests-sleep", status="running", started_at=now, attempts=1, lease="f" * 32,
              processed=1, total=3, progress=33.33, message="Sleeping", heartbeat_at=now),
        Order(owner=user, resource="tagging", status="completed", started_at=now, finished_at=now, attempts=1,
              resource_url=batch.get_absolute_url(), processed=3, total=3, progress=100.0),
        Order(owner=user, resource="tests-broken", status="failed", started_at=now, finished_at=now, attempts=1,
              error_code="report_failed", error_message="The report could not be built"),
        Order(owner=user, resource="tests-sleep", status="cancelled", finished_at=now),
    ]
    for order in orders:
        order.job_id = str(order.pk)
    Order.objects.bulk_create(orders)

    REAL_IDS.update({
        "/async/orders/{id}/": [str(order.pk) for order in orders],
        "/tagging/logs/{id}/": [log.pk for log in logs],
        "/tagging/batches/{id}/": [str(batch.pk)],
        "/tagging/batches/{id}/export.csv": [str(batch.pk)],
        "batch": [str(batch.pk)],
    })
    yield Token.objects.create(user=user).key
    REAL_IDS.clear()
    get_queue(queue).delete(delete_jobs=True)


@schema.parametrize()
# The fixture's objects are meant to outlive single examples: an order cancelled by one
# request is a 409 for the next.
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_answers_as_its_schema_says(case, alice):
    case.call_and_validate(headers={"Authorization": f"Token {alice}"}, checks=CHECKS)
