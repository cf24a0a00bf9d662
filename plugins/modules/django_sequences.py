#!/usr/bin/python
# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
# ruff: noqa: E402 - an Ansible module documents itself before its imports (ansible-test's order)

DOCUMENTATION = r"""
---
module: django_sequences
short_description: Find and reset the PostgreSQL sequences of a Django project's tables that fell behind
version_added: 0.1.0
description:
  - Rows inserted with explicit ids (a copy from another database, C(loaddata), a chunked C(bulk_create)
    with primary keys) leave each table's sequence where it was, and the next C(create()) fails with
    C(duplicate key value violates unique constraint ... Key (id)=(...) already exists).
  - For every model of the project on each alias of O(databases) (the tables the database router lets
    the alias hold, that exist there), it reads the sequence behind each auto-incremented column (serial
    or identity) and the column's largest value. A sequence whose next value is not past that largest
    value is B(behind); the module sets it so that the next value is the largest plus its increment
    (C(setval)). Check mode lists them and changes nothing.
  - Runs on one app host with the release's own Python interpreter (set C(ansible_python_interpreter)
    to the release virtualenv's python), like M(djangoops.stack.django_migrate); nothing has to be added
    to the app. PostgreSQL only; an alias of another backend is reported as skipped.
options:
  project_path:
    description:
      - Directory of the Django project (the one holding C(manage.py)). It is put first on the module
        search path and made the working directory.
    type: path
    required: true
  settings:
    description:
      - Settings module, for example C(mysite.settings.production).
      - Defaults to C(DJANGO_SETTINGS_MODULE) from O(environment), O(env_file) or the environment.
    type: str
  environment:
    description:
      - Environment variables the settings read. They override O(env_file). They are logged with the
        task's arguments like any option; keep secrets in O(env_file), which is read on the host.
    type: dict
    default: {}
  env_file:
    description:
      - The release's environment file, read as systemd's C(EnvironmentFile=) reads it.
    type: path
  databases:
    description:
      - Database aliases from C(settings.DATABASES) whose sequences are checked, in this order.
    type: list
    elements: str
    default: [default]
author:
  - djangoops.stack developers (@djangoops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Lists the sequences behind their tables and changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Set every sequence of the app's tables past the largest id (after a copy)
  djangoops.stack.django_sequences:
    project_path: /srv/shop/current/src
    settings: shop.settings.production
    env_file: /srv/shop/shared/env
    databases: [default]
  vars:
    ansible_python_interpreter: /srv/shop/current/venv/bin/python
"""

RETURN = r"""
databases:
  description: Per alias, what was found and done.
  returned: always
  type: dict
  contains:
    checked:
      description: How many sequences were read.
      type: int
    behind:
      description:
        - Each sequence behind its column - C(table), C(column), C(sequence), C(next) (the value the next
          insert would get) and C(max) (the column's largest value) - before the reset.
      type: list
      elements: dict
    reset:
      description: The sequences set past their column's largest value (empty in check mode).
      type: list
      elements: str
    skipped:
      description: Why the alias was not checked (another backend than PostgreSQL), else empty.
      type: str
  sample:
    default:
      checked: 12
      behind: [{"table": "airports_airport", "column": "id", "sequence": "public.airports_airport_id_seq",
                "next": 1, "max": 111111}]
      reset: [public.airports_airport_id_seq]
      skipped: ""
"""

import contextlib
import io
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoops.stack.plugins.module_utils import django_project

try:
    import django
    from django.apps import apps
    from django.db import connections, router, transaction
    from django.db.models.fields import AutoFieldMixin

    HAS_DJANGO = True
    DJANGO_IMPORT_ERROR = None
except ImportError as exc:  # reported with the interpreter the module ran under
    HAS_DJANGO = False
    DJANGO_IMPORT_ERROR = exc


def auto_columns(alias: str, tables: set[str]):
    """(table, column) of every auto-incremented column of the project's models held on the alias."""
    seen = set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table not in tables:
            continue
        if not router.allow_migrate_model(alias, model):
            continue
        for field in meta.local_fields:
            key = (meta.db_table, field.column)
            if isinstance(field, AutoFieldMixin) and key not in seen:
                seen.add(key)
                yield key


def check_alias(alias: str, fix: bool) -> dict:
    connection = connections[alias]
    result = {"checked": 0, "behind": [], "reset": [], "skipped": ""}
    if connection.vendor != "postgresql":
        result["skipped"] = f"{connection.vendor} is not PostgreSQL"
        return result
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for table, column in auto_columns(alias, tables):
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [quote(table), column])
            sequence = cursor.fetchone()[0]
            if not sequence:
                continue
            result["checked"] += 1
            # The sequence's name comes from PostgreSQL (pg_get_serial_sequence), quoted as a regclass.
            query = f"SELECT s.last_value, s.is_called, q.seqincrement FROM {sequence} s, pg_sequence q"  # noqa: S608
            cursor.execute(query + " WHERE q.seqrelid = %s::regclass", [sequence])
            last_value, is_called, increment = cursor.fetchone()
            cursor.execute(f"SELECT max({quote(column)}) FROM {quote(table)}")  # noqa: S608 - quoted names of the models
            largest = cursor.fetchone()[0]
            following = last_value + increment if is_called else last_value
            if largest is None or increment <= 0 or following > largest:
                continue
            result["behind"].append(
                {"table": table, "column": column, "sequence": sequence, "next": following, "max": largest}
            )
            if fix:
                with transaction.atomic(using=alias):
                    cursor.execute("SELECT setval(%s::regclass, %s, true)", [sequence, largest])
                result["reset"].append(sequence)
    return result


def summary(databases: dict, check_mode: bool) -> str:
    parts = []
    for alias, found in databases.items():
        if found["skipped"]:
            parts.append(f"{alias}: skipped ({found['skipped']})")
            continue
        behind = ", ".join(
            f"{b['sequence']} (next {b['next']}, {b['table']}.{b['column']} up to {b['max']})" for b in found["behind"]
        )
        verb = "behind" if check_mode or not found["behind"] else "reset"
        parts.append(
            f"{alias}: {len(found['behind'])} of {found['checked']} sequences {verb}"
            + (f": {behind}" if behind else "")
        )
    return "; ".join(parts)


def main():
    module = AnsibleModule(
        argument_spec={
            **django_project.PROJECT_OPTIONS,
            "databases": {"type": "list", "elements": "str", "default": ["default"]},
        },
        supports_check_mode=True,
    )
    params = module.params
    django_project.enter(module, HAS_DJANGO, DJANGO_IMPORT_ERROR)

    output = io.StringIO()
    databases = {}
    failure = None
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            django.setup()
            from django.conf import settings

            unknown = [alias for alias in params["databases"] if alias not in settings.DATABASES]
            if unknown:
                failure = (
                    f"databases: {', '.join(unknown)} not in the settings' DATABASES ({', '.join(settings.DATABASES)})"
                )
            else:
                for alias in params["databases"]:
                    databases[alias] = check_alias(alias, fix=not module.check_mode)
        except Exception as exc:
            failure = f"{type(exc).__name__}: {exc}"
            output.write(traceback.format_exc())
    if failure:
        module.fail_json(msg=failure, databases=databases, output=output.getvalue())
    changed = any(found["behind"] for found in databases.values())
    module.exit_json(
        changed=changed, databases=databases, msg=summary(databases, module.check_mode), output=output.getvalue()
    )


if __name__ == "__main__":
    main()
