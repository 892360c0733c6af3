import pytest
from django.core.exceptions import ImproperlyConfigured

from asyncrest import register
from asyncrest.registry import get_resource, get_resources, unregister


def test_resources_are_discovered_from_jobs_modules():
    assert get_resource("tagging").dotted_path == "tagging.jobs.tag_logs"
    assert get_resource("tests-sleep").timeout == 60
    assert "tests-broken" in get_resources()


def test_registering_a_name_twice_is_a_configuration_error():
    @register("tests-twice")
    def first(order):
        return "/a/"

    try:
        with pytest.raises(ImproperlyConfigured, match="tests-twice.*registered twice"):

            @register("tests-twice")
            def second(order):
                return "/b/"
    finally:
        unregister("tests-twice")
