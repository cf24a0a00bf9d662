#!/usr/bin/python
# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
# ruff: noqa: E402 - an Ansible module documents itself before its imports (ansible-test's order)

DOCUMENTATION = r"""
---
module: django_migrate
short_description: Run a Django release's migrations in pre-deploy and post-deploy phases
version_added: 0.1.0
description:
  - Applies a Django project's migrations in two phases around a rolling deploy, so that the old
    release keeps working while the new one is rolled out. Runs on one app host with the release's
    own Python interpreter (set C(ansible_python_interpreter) to the release virtualenv's python);
    nothing has to be added to the app.
  - A pending migration is B(post-deploy) when it is marked so, when an operation drops a column
    or a table in the database (C(RemoveField), C(DeleteModel), also inside
    C(SeparateDatabaseAndState.database_operations)), or when it depends on a pending post-deploy
    migration. Everything else is B(pre-deploy), including C(RunSQL) and C(RunPython) without a
    marker, state-only C(SeparateDatabaseAndState) and C(RunSQL.noop) with C(state_operations).
  - "Recognised markers on the C(Migration) class: C(post_deploy = True); django-syzygy's C(stage)
    whose name or value is C(post_deploy) or C(post_deployment) (C(Stage.POST_DEPLOY)), also as a
    C(stage) attribute of a single operation or in the C(MIGRATION_STAGES_OVERRIDE) setting;
    django-safemigrate's C(safe) whose name or value is C(after_deploy) (C(Safe.after_deploy) as
    an enum member, as a classmethod called or not, or C(safe = False) of safemigrate 1.x).
    C(pre_deploy), C(before_deploy), C(always), C(post_deploy = False) and C(safe = True) mean
    pre-deploy. Neither library is
    imported. A pre-deploy marker does not override a dropped column or table: that migration is
    still deferred."
  - "Refused, with the migration, the operation and the fix named, before anything changes in any
    database: in a pre-deploy migration (phases C(pre), C(all), C(check)), a NOT NULL column added
    without a database default (DM001), a column rename (DM002), a table rename (DM003), NOT NULL
    added to an existing column (DM004); in every phase, conflicting leaf migrations of an app
    (DM005) and model changes that have no migration (DM006). Operations on a table that this same
    run creates are never refused."
  - "B(First install), decided per database alias: when C(django_migrations) records no migration
    of any app that has migrations in the release (the table is absent, empty, or holds rows of
    other apps only), no old code can be using that database. Every pending migration is then
    pre-deploy, also those that drop a column or a table or are marked post-deploy (for example
    C(contenttypes.0002_remove_content_type_name) and everything that depends on it: auth, admin,
    the custom user model), DM001 to DM004 do not apply (DM005 and DM006 do), the C(pre) phase
    applies everything before the first host serves, and the C(post) phase has nothing left to do.
    RV(databases.first_install) and the message say so. A database where some app of the project
    has a recorded migration is planned as usual."
  - In the C(pre) phase, a NOT NULL column without a database default that a deferred migration
    drops is made nullable (C(ALTER COLUMN ... DROP NOT NULL)), so the new code can insert rows
    while the column still exists; the C(post) phase drops it.
  - Every statement runs with PostgreSQL's C(lock_timeout), so a migration waiting for a lock fails
    fast instead of queueing all traffic behind it; it is retried per O(retries). A failed
    migration leaves nothing half-applied (PostgreSQL's transactional DDL; not for migrations with
    C(atomic = False)).
  - Each database alias is planned on its own. An operation the database router does not allow on
    an alias has no effect there (as with C(manage.py migrate --database)) and is neither deferred
    nor refused there; the results list a migration under RV(databases.applied) only for the
    aliases it is routed to, and under RV(databases.recorded) for the others.
options:
  project_path:
    description:
      - Directory of the Django project (the one holding C(manage.py)). It is put first on the
        module search path and made the working directory.
    type: path
    required: true
  settings:
    description:
      - Settings module, for example C(mysite.settings.production).
      - Defaults to C(DJANGO_SETTINGS_MODULE) from O(environment), O(env_file) or the environment.
    type: str
  environment:
    description:
      - Environment variables the settings read. They override O(env_file).
      - They are logged with the task's arguments like any option; keep secrets in O(env_file),
        which is read on the host and never logged.
    type: dict
    default: {}
  env_file:
    description:
      - The release's environment file, read as systemd's C(EnvironmentFile=) reads it (quotes,
        escapes, comments and continuation lines alike), so the migrations see the values gunicorn
        and Celery get.
    type: path
  phase:
    description:
      - V(pre) applies the pre-deploy migrations and relaxes columns that deferred migrations drop;
        run it before the first host switches to the new release.
      - V(post) applies everything still pending; run it once every host runs the new release.
      - V(all) applies everything in one go with the pre-deploy refusals; for a maintenance window,
        when no old code is running. On a first install V(pre) is enough, as it applies everything.
      - V(check) plans and refuses, and never changes anything (the deploy's preflight).
      - V(schema) checks that the database has every table and column this code's models need (run
        with the code of a release to return to, before a rollback switches any host), and fails
        naming what is missing, the migrations recorded in the database that this code does not
        know, and the migrations to reverse to (RV(databases.reverse_to)). Applies nothing; only
        makes the columns of O(relax) nullable.
      - V(reverse) unapplies migrations down to each of O(targets), with the code that has them (a
        rollback runs it before any host switches back). Refused, before any change, when a migration
        it would unapply added or renamed a column, table or model (its reversal takes away what the
        release still serving reads); reversing a migration that removed something puts it back.
    type: str
    choices: [pre, post, all, check, schema, reverse]
    required: true
  databases:
    description:
      - Database aliases from C(settings.DATABASES) to migrate, in this order.
    type: list
    elements: str
    default: [default]
  lock_timeout:
    description:
      - PostgreSQL C(lock_timeout) in seconds for every statement of the run; V(0) waits forever.
      - The module is built for PostgreSQL; on other backends there is no lock timeout and no
        relaxation.
    type: float
    default: 5
  retries:
    description:
      - How many times a migration or relaxation that hit the lock timeout (or a deadlock) is
        retried. Other errors are not retried.
    type: int
    default: 3
  retry_delay:
    description:
      - Seconds before the first retry; the pause doubles after each further attempt.
    type: float
    default: 2
  targets:
    description:
      - Phase V(reverse) only - C(app_label:migration) (a name or its prefix, as for C(manage.py migrate)) or
        C(app_label:zero), each the last migration of its app to keep.
    type: list
    elements: str
    default: []
  relax:
    description:
      - Phase V(schema) only - columns (C(table.column)) to make nullable when they are NOT NULL without a
        database default; a rollback names the columns that a reversal just put back, so that the
        release still running (which does not write them) keeps inserting rows while hosts switch.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports the plan; C(changed) says whether a real run would apply or relax anything.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - Django 4.2 or later (5.2 tested) and its PostgreSQL driver (psycopg 3 or psycopg2), in the
    interpreter that runs the module.
notes:
  - Run the task with C(ansible_python_interpreter) set to the release virtualenv's python and as
    the app's user (C(become_user)), on one app host (C(run_once) outside a C(serial) play).
  - Refusals are computed for every alias in O(databases) before anything is applied.
  - The module runs Django's own C(migrate) command (signals such as content types and permissions
    fire as usual), without its system checks.
seealso:
  - name: Django migrations
    description: Django's documentation on migrations.
    link: https://docs.djangoproject.com/en/5.2/topics/migrations/
author:
  - djangoops.stack developers (@djangoops)
"""

EXAMPLES = r"""
- name: Preflight - refuse unsafe migrations before anything changes
  djangoops.stack.django_migrate:
    project_path: /srv/shop/releases/{{ release_version }}/src
    settings: shop.settings.production
    env_file: /srv/shop/shared/env
    phase: check
    databases: [default, warehouse]
  vars:
    ansible_python_interpreter: /srv/shop/releases/{{ release_version }}/venv/bin/python
  become: true
  become_user: shop
  run_once: true

- name: Pre-deploy migrations, before the first host switches
  djangoops.stack.django_migrate:
    project_path: /srv/shop/releases/{{ release_version }}/src
    settings: shop.settings.production
    env_file: /srv/shop/shared/env
    phase: pre
    databases: [default, warehouse]
    lock_timeout: 3
    retries: 5
    retry_delay: 2
  vars:
    ansible_python_interpreter: /srv/shop/releases/{{ release_version }}/venv/bin/python
  become: true
  become_user: shop
  run_once: true
  register: shop_pre_migrations

- name: Post-deploy migrations, once every host runs the new release
  djangoops.stack.django_migrate:
    project_path: /srv/shop/current/src
    settings: shop.settings.production
    env_file: /srv/shop/shared/env
    environment:
      DJANGO_LOG_LEVEL: WARNING
    phase: post
  vars:
    ansible_python_interpreter: /srv/shop/current/venv/bin/python
  become: true
  become_user: shop
  run_once: true
"""

RETURN = r"""
phase:
  description: The phase that ran.
  returned: always
  type: str
  sample: pre
lock_timeout:
  description: The lock timeout every statement ran with, in seconds.
  returned: always
  type: float
  sample: 5.0
refused:
  description:
    - Every refusal of the run, over all aliases; the run failed and changed nothing when it is
      not empty.
    - Each has C(id) (DM001 to DM006), C(check), C(database) (the alias, null for problems of the
      release as a whole), C(migration), C(operation), C(reason) and C(fix).
  returned: always
  type: list
  elements: dict
  sample:
    - id: DM001
      check: not-null-column-without-db-default
      database: default
      migration: airports.0004_airport_country
      operation: AddField airport.country
      reason: adds column airports_airport.country as NOT NULL without a database default, ...
      fix: give airport.country a database default (db_default=...), or add it with null=True now ...
databases:
  description: Results per database alias.
  returned: always
  type: dict
  contains:
    first_install:
      returned: in every phase but schema
      description:
        - True when this database held no recorded migration of the project's apps when the run
          started. Every pending migration is then planned pre-deploy, none is deferred or refused
          by DM001 to DM004. False once any app of the project has a recorded migration there.
      type: bool
      sample: false
    plan:
      returned: in every phase but schema
      description:
        - The pending migrations when the run started, C(pre) (names) and C(post) (with the reason
          each is post-deploy), and C(relax), the columns the pre phase would make nullable.
      type: dict
      sample:
        pre: [airports.0002_airport_country]
        post:
          - migration: airports.0003_remove_airport_name
            reason: RemoveField airport.name drops column airports_airport.name
        relax:
          - {migration: airports.0003_remove_airport_name, operation: RemoveField airport.name,
             table: airports_airport, column: name}
    applied:
      returned: in every phase but schema
      description:
        - Migrations applied by this run that the database router sends to this database (at least
          one of their operations is allowed here or, for a migration without operations, its
          app is). In check mode, those a real run would apply.
      type: list
      elements: str
      sample: [airports.0002_airport_country]
    recorded:
      returned: in every phase but schema
      description:
        - Migrations only marked as applied in this database, because the router sends none of
          their operations here (Django records every migration in every database it migrates).
      type: list
      elements: str
      sample: [warehouse.0001_initial]
    deferred:
      returned: in every phase but schema
      description: Post-deploy migrations left for the post phase (phases C(pre) and C(check)), with the reason.
      type: list
      elements: dict
      sample:
        - migration: airports.0003_remove_airport_name
          reason: RemoveField airport.name drops column airports_airport.name
    relaxed:
      returned: always
      description: Columns made nullable by this run (in check mode, those a real run would relax).
      type: list
      elements: dict
      sample:
        - {migration: airports.0003_remove_airport_name, operation: RemoveField airport.name,
           table: airports_airport, column: name}
    refused:
      returned: in every phase but schema
      description: The refusals that concern this alias, including those of the release as a whole.
      type: list
      elements: dict
    failed:
      returned: when a migration failed
      description: The migration that failed (after its retries); it was rolled back.
      type: str
      sample: airports.0002_airport_country
    attempts:
      returned: in every phase but schema
      description:
        - Failed attempts, each with C(action), C(attempt), C(seconds), C(sqlstate) and C(error);
          C(55P03) means the lock timeout expired.
      type: list
      elements: dict
      sample:
        - action: migrate to airports.0002_airport_country
          attempt: 1
          seconds: 5.004
          sqlstate: 55P03
          error: canceling statement due to lock timeout
    missing_tables:
      returned: in phase schema
      description: Tables this code's models need that the database lacks.
      type: list
      elements: str
      sample: []
    missing_columns:
      returned: in phase schema
      description: Columns (C(table.column)) this code's models need that the database lacks.
      type: list
      elements: str
      sample: [airports_distance.requested_at]
    unknown_migrations:
      returned: in phase schema
      description: Migrations recorded in the database that this code does not have.
      type: list
      elements: str
      sample: [airports.0004_remove_distance_requested_at]
    reversed:
      returned: in phase reverse
      description: The migrations this run unapplied.
      type: list
      elements: str
      sample: [airports.0004_remove_distance_requested_at]
    would_reverse:
      returned: in phase reverse
      description: The migrations the reversal unapplies, in order (in check mode, what a real run would).
      type: list
      elements: str
    takes_away:
      returned: in phase reverse
      description: The operations whose reversal would take away what the code still serving reads (then refused).
      type: list
      elements: str
    reverse_to:
      returned: in phase schema
      description: >-
        For each app with unknown migrations, this code's last migration (C(app:migration)):
        reversing to it with the code that has the unknown ones undoes them.
      type: list
      elements: str
      sample: ["airports:0003_remove_airport_name"]
output:
  description: What the migrations printed (RunPython code, signal handlers).
  returned: always
  type: str
  sample: ""
"""

import contextlib
import io
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoops.stack.plugins.module_utils import django_migrate as logic
from ansible_collections.djangoops.stack.plugins.module_utils import django_project

FIRST_INSTALL = (
    "first install: the database held no migration of the project, so every migration is pre-deploy and none "
    "is deferred"
)


def summary(result):
    parts = []
    for alias, res in result.get("databases", {}).items():
        if result.get("phase") == "schema":
            relaxed = f", relaxed {len(res['relaxed'])}" if res["relaxed"] else ""
            parts.append(f"{alias}: every table and column this code needs is there{relaxed}")
            continue
        if result.get("phase") == "reverse":
            parts.append(f"{alias}: reversed {', '.join(res['reversed']) or 'nothing'}")
            continue
        first = f"{FIRST_INSTALL}; " if res.get("first_install") else ""
        parts.append(
            f"{alias}: {first}applied {len(res['applied'])}, recorded {len(res['recorded'])}, "
            f"deferred {len(res['deferred'])}, relaxed {len(res['relaxed'])}"
        )
    return "; ".join(parts) or "nothing to do"


def main():
    module = AnsibleModule(
        argument_spec={
            # Written out (not django_project.PROJECT_OPTIONS): tests/django_migrate/test_docs.py reads this literal.
            "project_path": {"type": "path", "required": True},
            "settings": {"type": "str"},
            "environment": {"type": "dict", "default": {}},
            "env_file": {"type": "path"},
            "phase": {"type": "str", "required": True, "choices": ["pre", "post", "all", "check", "schema", "reverse"]},
            "relax": {"type": "list", "elements": "str", "default": []},
            "targets": {"type": "list", "elements": "str", "default": []},
            "databases": {"type": "list", "elements": "str", "default": ["default"]},
            "lock_timeout": {"type": "float", "default": 5},
            "retries": {"type": "int", "default": 3},
            "retry_delay": {"type": "float", "default": 2},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["retries"] < 0 or params["retry_delay"] < 0 or params["lock_timeout"] < 0:
        module.fail_json(msg="lock_timeout, retries and retry_delay must not be negative")
    if params["phase"] == "reverse" and not params["targets"]:
        module.fail_json(msg="phase reverse needs targets (app_label:migration items)")
    django_project.enter(module, logic.HAS_DJANGO, logic.DJANGO_IMPORT_ERROR)

    output = io.StringIO()
    failure = None
    result = {}
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            logic.setup()
            if params["phase"] == "schema":
                result = logic.schema_run(params["databases"], params["relax"], module.check_mode)
            elif params["phase"] == "reverse":
                result = logic.reverse_run(
                    params["databases"],
                    params["targets"],
                    params["lock_timeout"],
                    logic.RetryPolicy(retries=params["retries"], delay=params["retry_delay"]),
                    module.check_mode,
                    output,
                )
            else:
                result = logic.run(
                    phase=logic.Phase(params["phase"]),
                    databases=params["databases"],
                    lock_timeout=params["lock_timeout"],
                    policy=logic.RetryPolicy(retries=params["retries"], delay=params["retry_delay"]),
                    check_mode=module.check_mode,
                    output=output,
                )
        except logic.MigrateError as exc:
            failure, result = str(exc), exc.result
        except Exception as exc:
            failure = f"{type(exc).__name__}: {exc}"
            result = {"exception": traceback.format_exc()}
    result.setdefault("changed", False)
    result.setdefault("phase", params["phase"])
    result.setdefault("lock_timeout", params["lock_timeout"])
    result.setdefault("databases", {})
    result.setdefault("refused", [])
    result["output"] = output.getvalue()
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(msg=summary(result), **result)


if __name__ == "__main__":
    main()
