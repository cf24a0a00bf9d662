"""Bad input to the web-tier roles (nginx, django_app, celery) fails before any change, naming the variable."""

import pytest

from tests.conftest import ROOT

ARTIFACT = str(ROOT / "README.md")  # any file that exists on the controller
APP = {"django_app_version": "1.0.0", "django_app_artifact": ARTIFACT}
LB = {"nginx_lb_site": True, "nginx_lb_backends": ["10.0.0.1:8080"]}
# Only the markers the role looks for: no real key material in the tests.
PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"

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
        "nginx",
        {"nginx_lb_site": True, "nginx_lb_backends": ["127.0.0.1:8080"], "nginx_backend_tls": True},
        "nginx_lb_backends: 127.0.0.1 is on loopback, which the app site serves in plain HTTP",
        "Install nginx",
        id="nginx-backend-tls-loopback-backend",
    ),
    pytest.param(
        "nginx",
        {
            "nginx_app_site": True,
            "nginx_app_socket": "/run/app/gunicorn.sock",
            "nginx_app_listen_addresses": ["0.0.0.0"],  # noqa: S104 (the refused input)
            "nginx_backend_tls": True,
        },
        "nginx_app_listen_addresses: 0.0.0.0 listens on loopback too",
        "Install nginx",
        id="nginx-backend-tls-wildcard-listen",
    ),
    pytest.param(
        "nginx",
        {**LB, "nginx_backend_tls": True, "nginx_backend_tls_name": "app host"},
        "nginx_backend_tls_name: 'app host' is not a host name",
        "Install nginx",
        id="nginx-backend-tls-bad-name",
    ),
    pytest.param(
        "nginx",
        {**LB, "nginx_lb_tls": "acme"},
        "nginx_lb_tls_names is empty: acme needs the names",
        "Install nginx",
        id="nginx-acme-without-names",
    ),
    pytest.param(
        "nginx",
        {**LB, "nginx_lb_tls": "acme", "nginx_lb_tls_names": ["*.example.com"]},
        "nginx_lb_tls_names: *.example.com is a wildcard, which HTTP-01 cannot validate",
        "Install nginx",
        id="nginx-acme-wildcard",
    ),
    pytest.param(
        "nginx",
        {
            **LB,
            "nginx_lb_tls": "acme",
            "nginx_lb_tls_names": ["www.example.com"],
            "nginx_lb_acme_directory": "http://ca/dir",
        },
        "nginx_lb_acme_directory must be an https:// URL",
        "Install nginx",
        id="nginx-acme-plain-directory",
    ),
    pytest.param(
        "nginx",
        {**LB, "nginx_lb_tls": "files", "nginx_lb_tls_certificate": "not a certificate"},
        "nginx_lb_tls_certificate must hold the PEM certificate chain",
        "Install nginx",
        id="nginx-files-no-certificate",
    ),
    pytest.param(
        "nginx",
        {
            **LB,
            "nginx_lb_tls": "files",
            "nginx_lb_tls_certificate": PEM_CERTIFICATE,
            "nginx_lb_tls_certificate_key": "x",
        },
        "nginx_lb_tls_certificate_key must hold the PEM private key",
        "Install nginx",
        id="nginx-files-no-key",
    ),
    pytest.param(
        "nginx",
        {**LB, "nginx_lb_tls": "upstream"},
        "nginx_lb_trusted_proxies is empty: with nginx_lb_tls: upstream",
        "Install nginx",
        id="nginx-upstream-without-proxies",
    ),
    pytest.param(
        "nginx",
        {**LB, "nginx_lb_tls": "upstream", "nginx_lb_trusted_proxies": ["0.0.0.0/0"]},
        "nginx_lb_trusted_proxies names 0.0.0.0/0: anyone could then set the client address",
        "Install nginx",
        id="nginx-lb-trusts-everyone",
    ),
    pytest.param(
        "nginx",
        {"nginx_app_site": True, "nginx_app_socket": "/run/x.sock", "nginx_app_trusted_proxies": ["::/0"]},
        "nginx_app_trusted_proxies names ::/0",
        "Install nginx",
        id="nginx-app-trusts-everyone",
    ),
    pytest.param(
        "nginx",
        {**LB, "nginx_lb_tls": "acme", "nginx_lb_tls_names": ["www.example.com;\n    return 200"]},
        "nginx_lb_tls_names: 'www.example.com;",
        "Install nginx",
        id="nginx-name-injection",
    ),
    pytest.param(
        "nginx",
        {
            **LB,
            "nginx_lb_tls": "files",
            "nginx_lb_tls_certificate": PEM_CERTIFICATE,
            "nginx_lb_tls_certificate_key": PEM_KEY,
            "nginx_lb_hsts_preload": True,
        },
        "nginx_lb_hsts_preload needs nginx_lb_hsts_max_age of at least 31536000 and nginx_lb_hsts_include_subdomains",
        "Install nginx",
        id="nginx-hsts-preload-short",
    ),
    pytest.param(
        "nginx",
        {
            **LB,
            "nginx_lb_tls": "files",
            "nginx_lb_tls_certificate": PEM_CERTIFICATE,
            "nginx_lb_tls_certificate_key": PEM_KEY,
            "nginx_lb_https_port": 80,
        },
        "nginx_lb_port and nginx_lb_https_port are both 80",
        "Install nginx",
        id="nginx-https-port-clash",
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
