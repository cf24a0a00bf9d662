#!/usr/bin/env python
"""manage.py of the test project: the rule cases of django_migrate, one app per case."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casesite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
