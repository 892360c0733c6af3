"""System checks: a host project missing what the engine needs is told what and how to fix it."""
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from asyncrest import checks


def messages(check, **kwargs) -> dict[str, str]:
    return {error.id: f"{error.msg} {error.hint}" for error in check(None, **kwargs)}


def test_a_complete_setup_passes():
    assert checks.check_dependencies(None) == []
    assert checks.check_queues(None) == []
    assert checks.check_resources(None) == []


@pytest.mark.parametrize("missing", ["django_rq", "rest_framework", "django.contrib.auth", "django.contrib.contenttypes"])
def test_each_missing_app_is_named_with_a_hint(monkeypatch, missing):
    installed = checks.apps.is_installed
    monkeypatch.setattr(checks.apps, "is_installed", lambda name: name != missing and installed(name))
    found = checks.check_dependencies(None)
    assert [error.id for error in found] == ["asyncrest.E003"]
    assert f"'{missing}' must be in INSTALLED_APPS" in found[0].msg
    assert f"Add '{missing}' to INSTALLED_APPS" in found[0].hint


def test_a_missing_django_rq_stops_manage_py_commands(monkeypatch):
    installed = checks.apps.is_installed
    monkeypatch.setattr(checks.apps, "is_installed", lambda name: name != "django_rq" and installed(name))
    with pytest.raises(SystemCheckError, match="'django_rq' must be in INSTALLED_APPS"):
        call_command("check")


def test_a_queue_missing_from_rq_queues_is_named(settings):
    settings.RQ_QUEUES = {"other": {"URL": "redis://localhost:6379/0"}}
    found = messages(checks.check_queues)
    assert settings.ASYNCREST["QUEUE"] in found["asyncrest.E001"]
    assert "RQ_QUEUES" in found["asyncrest.E001"]
    settings.RQ_QUEUES = None
    assert "asyncrest.E001" in messages(checks.check_queues)


def test_no_authentication_classes_is_a_warning(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_AUTHENTICATION_CLASSES": []}
    found = messages(checks.check_dependencies)
    assert "DEFAULT_AUTHENTICATION_CLASSES" in found["asyncrest.W001"]
    assert "TokenAuthentication" in found["asyncrest.W001"]
