"""Source distributions with a C extension, made by the tests: no wheel of them exists anywhere, so the
release builder has to compile them. Served to pip from a local folder (``--find-links`` in the
source's requirements.txt)."""

import io
import tarfile
from pathlib import Path

SETUP_PY = """from setuptools import Extension, setup

setup(name="{name}", version="{version}", ext_modules=[Extension("{module}", ["{module}.c"])])
"""

HELLO_C = """#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
    return PyLong_FromLong(a + b);
}

static PyMethodDef methods[] = {{"add", add, METH_VARARGS, "a + b"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "MODULE", NULL, -1, methods};
PyMODINIT_FUNC PyInit_MODULE(void) { return PyModule_Create(&module); }
"""

# Does not compile: gcc says "'undeclared_total' undeclared".
BROKEN_C = """#include <Python.h>

long broken(void) {
    return undeclared_total + 1;
}
"""


def make_sdist(folder: Path, name: str, version: str, c_source: str) -> Path:
    """``<folder>/<module>-<version>.tar.gz``: setup.py and one C file, the extension module ``<module>``."""
    module = name.replace("-", "_")
    files = {
        "setup.py": SETUP_PY.format(name=name, version=version, module=module),
        f"{module}.c": c_source.replace("MODULE", module),
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for relpath, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{module}-{version}/{relpath}")
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def app_needing(root: Path, dist: Path, *requirements: str) -> Path:
    """A Django-like source whose requirements.txt names packages of ``dist`` (and maybe the index)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "manage.py").write_text("print('manage')\n")
    lines = [f"--find-links {dist}", *requirements]
    (root / "requirements.txt").write_text("".join(f"{line}\n" for line in lines))
    return root
