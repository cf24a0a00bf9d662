"""Bad input to the web-tier roles (nginx, django_app, celery) fails before any change, naming the variable."""

import pytest

from tests.conftest import ROOT

ARTIFACT = str(ROOT / "README.md")  # any file that exists on the controller
APP = {"django_app_version": "1.0.0", "django_app_artifact": ARTIFACT}

CASES = [
    pytest.param(
        "nginx",
        {"nginx_lb_site": True, "nginx_lb_backends": []},
        "nginx_lb_backends is empty",
        "Install nginx",
        id="nginx-lb-without-backends",
    ),
    pytest.param(
        "nginx",
        {"nginx_app_site": True, "nginx_app_socket": "gunicorn.sock"},
        "nginx_app_socket must be the absolute path",
        "Install nginx",
        id="nginx-app-socket-relative",
    ),
    pytest.param(
        "nginx",
        {"nginx_lb_site": True, "nginx_lb_backends": ["10.0.0.1:8080"], "nginx_lb_drained": ["10.0.0.2:8080"]},
        "nginx_lb_drained names 10.0.0.2:8080, not in nginx_lb_backends",
        "Install nginx",
        id="nginx-drain-unknown-backend",
    ),
    pytest.param(
        "nginx",
        {"nginx_gzip_comp_level": 12},
        "value of nginx_gzip_comp_level must be one of",
        "Install nginx",
        id="nginx-gzip-level",
    ),
    pytest.param(
        "django_app",
        {"django_app_artifact": ARTIFACT},
        "missing required arguments: django_app_version",
        "Install the packages the app needs",
        id="django-app-no-version",
    ),
    pytest.param(
        "django_app",
        {**APP, "django_app_artifact": "/nonexistent/example-1.0.0.tar.gz"},
        "django_app_artifact: /nonexistent/example-1.0.0.tar.gz does not exist on the controller",
        "Install the packages the app needs",
        id="django-app-artifact-missing",
    ),
    pytest.param(
        "django_app",
        {**APP, "django_app_version": "../etc"},
        "django_app_version '../etc' must be letters, digits",
        "Install the packages the app needs",
        id="django-app-version-path",
    ),
    pytest.param(
        "django_app",
        {**APP, "django_app_env": {"BAD NAME": "x"}},
        "django_app_env: BAD NAME are not valid variable names",
        "Install the packages the app needs",
        id="django-app-env-name",
    ),
    pytest.param(
        "celery",
        {"celery_loglevel": "LOUD"},
        "value of celery_loglevel must be one of",
        "Write the Celery units",
        id="celery-loglevel",
    ),
    pytest.param(
        "celery",
        {"celery_task_time_limit": "forever"},
        "argument 'celery_task_time_limit' is of type",
        "Write the Celery units",
        id="celery-time-limit-type",
    ),
]


@pytest.mark.parametrize(("role", "variables", "message", "first_change"), CASES)
def test_bad_input_is_refused_before_any_change(run_role, role, variables, message, first_change):
    run_role(role, variables).assert_refused(message, first_change)
