"""The module's documentation renders with ansible-doc and matches its argument spec."""

import ast
import json
import subprocess

from .helpers import MODULE, PYTHON, ansible_env


def test_ansible_doc_renders_and_matches_the_argument_spec():
    proc = subprocess.run(
        [str(PYTHON.parent / "ansible-doc"), "--json", "djangoops.stack.django_migrate"],
        capture_output=True,
        text=True,
        env=ansible_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["djangoops.stack.django_migrate"]
    assert doc["examples"].strip()
    assert {"phase", "lock_timeout", "databases", "refused", "output"} <= set(doc["return"])

    # The argument_spec literal of main(), compared with the documented options.
    tree = ast.parse(MODULE.read_text())
    call = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "AnsibleModule"
    )
    spec = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "argument_spec"))
    options = doc["doc"]["options"]
    assert set(spec) == set(options)
    for name, argument in spec.items():
        assert options[name]["type"] == argument["type"], name
        assert options[name].get("default") == argument.get("default"), name
        assert options[name].get("required", False) == argument.get("required", False), name
        assert options[name].get("choices") == argument.get("choices"), name
