#!/usr/bin/env python
"""Django's command-line utility for PieNet Studio.

Run without SECRET_KEY and DEBUG (a fresh clone, `make` targets), it is local work: DEBUG=1, so the
README's commands run as written. Deployments set SECRET_KEY (Docker requires it) and so keep DEBUG off.
"""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    if not os.environ.get("SECRET_KEY"):  # local work unless DEBUG says otherwise
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
