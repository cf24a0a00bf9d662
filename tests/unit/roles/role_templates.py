"""A role's variables as Ansible loads them, and Jinja expressions rendered as Ansible renders them:
the strings of a role's own files (defaults/, vars/) are templates Ansible trusts."""

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from tests.conftest import ROOT


def role_variables(role: str, path: str = "vars/main.yml") -> dict:
    """roles/<role>/<path>, every string trusted as a template."""
    return {
        name: trust_as_template(value) if isinstance(value, str) else value
        for name, value in (yaml.safe_load((ROOT / "roles" / role / path).read_text()) or {}).items()
    }


def render(expression: str, variables: dict):
    """`expression` (a trusted template) rendered with `variables`."""
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))
