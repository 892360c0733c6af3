"""`register()` and `fan_out()` refuse, at import time, what a worker could not run."""
import pytest
from django.core.exceptions import ImproperlyConfigured

from asyncrest import fan_out, register
from asyncrest.checks import check_resources
from asyncrest.registry import (
    Resource,
    _registry,
    get_resource,
    get_resources,
    unregister,
)


def first(order):
    return "/a/"


def second(order):
    return "/b/"


def test_resources_are_discovered_from_jobs_modules():
    assert get_resource("tagging").dotted_path == "tagging.jobs.tag_logs"
    assert get_resource("tests-sleep").timeout == 60
    assert "tests-broken" in get_resources()


def test_jobs_are_discovered_in_the_apps_that_declare_resources_only(monkeypatch):
    from asyncrest import apps

    imported = []
    monkeypatch.setattr(apps, "import_module", imported.append)
    apps.discover_jobs()
    # Not django_rq.jobs (RQ's helpers), nor the engine's own legacy job path.
    assert imported == ["tagging.jobs", "tests.jobs"]


def test_registering_a_name_twice_is_a_configuration_error():
    register("tests-twice")(first)
    try:
        with pytest.raises(ImproperlyConfigured, match="tests-twice.*registered twice"):
            register("tests-twice")(second)
    finally:
        unregister("tests-twice")


@pytest.mark.parametrize("name", ["", "has space", "a/b", "-leading", "x" * 65, "dots.in.it", "é", None, 3])
def test_a_name_that_is_not_a_url_segment_is_refused(name):
    with pytest.raises(ImproperlyConfigured, match="must be 1 to 64 letters"):
        register(name)
    assert name not in get_resources()


def test_a_job_a_worker_cannot_import_is_refused_when_registered():
    def nested(order):
        return "/x/"

    with pytest.raises(ImproperlyConfigured, match="module-level function"):
        register("tests-nested")(nested)
    with pytest.raises(ImproperlyConfigured, match="module-level function"):
        register("tests-lambda")(lambda order: "/x/")
    with pytest.raises(ImproperlyConfigured, match="must be a function"):
        register("tests-object")(object())
    assert not {"tests-nested", "tests-lambda", "tests-object"} & set(get_resources())


def test_an_empty_parser_list_is_refused():
    with pytest.raises(ImproperlyConfigured, match="parsers= may not be empty"):
        register("tests-no-parsers", parsers=[])


def test_the_system_check_finds_a_job_that_does_not_import_by_its_path_and_a_parser_that_does_not_import():
    _registry["tests-ghost"] = Resource(name="tests-ghost", func=first, parsers=("no.such.Parser",))
    moved = first.__qualname__
    first.__qualname__ = "renamed"
    try:
        errors = {error.id: error.msg for error in check_resources(None)}
    finally:
        first.__qualname__ = moved
        unregister("tests-ghost")
    assert "tests-ghost" in errors["asyncrest.E004"]
    assert "tests-ghost" in errors["asyncrest.E005"]
    assert not check_resources(None)


def test_fan_out_refuses_callables_that_workers_could_not_import():
    def local_part(order, part):
        pass

    with pytest.raises(ValueError, match="part .*module-level function"):
        fan_out(None, [{}], part=local_part, then=first)
    with pytest.raises(ValueError, match="then 'no.such.function' cannot be imported"):
        fan_out(None, [{}], part=first, then="no.such.function")
    made = fan_out(None, [{}], part=first, then="tests.asyncrest.test_registry.second")
    assert (made.part, made.then) == ("tests.asyncrest.test_registry.first", "tests.asyncrest.test_registry.second")
