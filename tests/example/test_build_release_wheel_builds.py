"""tools/build_release.py with requirements that have no wheel on the index, without a container:
what it says when nowhere to build them is named, and the small functions behind wheel builds.

The builds in a container of the hosts' Debian release are in test_build_release_wheel_container.py.
"""

import pytest

from .wheel_packages import HELLO_C, app_needing, make_sdist


def quiet(message):
    pass


def test_a_requirement_with_only_a_source_says_what_to_set(builder, tmp_path):
    dist = tmp_path / "dist"
    make_sdist(dist, "djangoops-cext-hello", "1.0", HELLO_C)
    source = app_needing(tmp_path / "shop", dist, "djangoops-cext-hello==1.0")
    with pytest.raises(builder.BuildError) as refused:
        builder.build(source, "1.0.0", tmp_path / "out", pythons=["3.11"], wheel_cache=tmp_path / "cache", log=quiet)
    message = str(refused.value)
    assert message.startswith(
        "djangoops-cext-hello==1.0: no wheel for CPython 3.11 on manylinux2014_x86_64 or manylinux_2_28_x86_64, "
        "only its source djangoops_cext_hello-1.0.tar.gz: name an image of the hosts' Debian release to build it "
        "in, deploy_wheel_build_images: {'3.11': 'debian:bookworm'} (build_release.py --build-image "
        "3.11=debian:bookworm), with the Debian packages it needs to compile in deploy_wheel_build_packages"
    )
    assert message.endswith("or pin a version that has a wheel in requirements.txt")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.tar.gz"))


def test_bad_build_settings_are_refused_naming_them(builder, tmp_path):
    source = app_needing(tmp_path / "shop", tmp_path / "dist", "six==1.17.0")
    for builds, what in [
        (builder.WheelBuilds(images=(("3", "debian:bookworm"),)), "build image 3=debian:bookworm"),
        (builder.WheelBuilds(images=(("3.11", "debian bookworm"),)), "build image 3.11=debian bookworm"),
        (builder.WheelBuilds(packages=("libpq-dev; rm -rf /",)), "build package 'libpq-dev; rm -rf /'"),
    ]:
        with pytest.raises(builder.UsageError, match=what):
            builder.build(source, "1.0.0", tmp_path / "out", wheel_builds=builds, log=quiet)


def test_the_requirement_pip_found_no_distribution_of(builder):
    output = 'ERROR: No matching distribution found for psycopg-c==3.2.3; implementation_name != "pypy"\n'
    assert builder.missing_requirement(output) == "psycopg-c==3.2.3"
    assert builder.missing_requirement("ERROR: No matching distribution found for shop[c]>=1,<2\n") == "shop<2,>=1"
    assert builder.missing_requirement("Successfully downloaded six") is None


def test_the_compilers_errors_are_quoted_without_the_noise(builder):
    log = "\n".join(
        [
            "Processing /sdist/broken-1.0.tar.gz",
            *(f"  copying file{i}.py -> build" for i in range(200)),
            "      broken.c: In function 'broken':",
            "      broken.c:4:12: error: 'undeclared_total' undeclared (first use in this function)",
            "          4 |     return undeclared_total + 1;",
            "            |            ^~~~~~~~~~~~~~~~",
            "      broken.c:4:12: note: each undeclared identifier is reported only once",
            "      error: command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1",
            "  error: subprocess-exited-with-error",
            "ERROR: Failed building wheel for broken",
        ]
    )
    assert builder.compiler_errors(log) == [
        "broken.c:4:12: error: 'undeclared_total' undeclared (first use in this function)",
        "    4 |     return undeclared_total + 1;",
        "      |            ^~~~~~~~~~~~~~~~",
    ]
    assert builder.compiler_errors("no\nerror words\nhere") == ["error words"]


def test_a_wheel_built_for_the_hosts_is_accepted_only_where_the_builder_built_it(builder):
    tags = builder.parse_wheel_filename("hello-1.0-cp311-cp311-linux_x86_64.whl")
    assert builder.wheel_supports(tags, "3.11") is False  # never from the index
    assert builder.wheel_supports(tags, "3.11", [*builder.DEFAULT_PLATFORMS, builder.BUILT_PLATFORM]) is True
    assert builder.wheel_supports(tags, "3.13", [*builder.DEFAULT_PLATFORMS, builder.BUILT_PLATFORM]) is False


def test_a_locked_pin_accepts_its_built_wheel_by_hash(builder, tmp_path):
    requirements = builder.Requirements("uv.lock", ["uv.lock"], [], [], [], [], True, None, "")
    pins = [
        builder.Pin("hello", "hello==1.0", hashes=("sha256:aaa",)),
        builder.Pin("six", "six==1.17.0", hashes=("sha256:bbb",)),
    ]
    path = builder.write_download_file(requirements, pins, "3.11", tmp_path, {"hello": "ccc"})
    assert path.read_text().splitlines() == [
        "hello==1.0 --hash=sha256:aaa --hash=sha256:ccc",
        "six==1.17.0 --hash=sha256:bbb",
    ]


def test_the_build_requirements_of_a_source(builder, tmp_path):
    legacy = make_sdist(tmp_path, "legacy", "1.0", HELLO_C)
    assert builder.build_requirements_of(legacy) == ["setuptools>=40.8.0", "wheel"]
    assert builder.sdist_name("djangoops_cext_hello-1.0.tar.gz") == ("djangoops-cext-hello", "1.0")
    assert builder.sdist_name("Django-5.2.19.tar.gz") == ("django", "5.2.19")
    assert builder.sdist_name("six-1.17.0-py2.py3-none-any.whl") is None
