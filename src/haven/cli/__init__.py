"""The ``haven`` command: each subcommand opens the database, calls one service, prints.

One module per domain: ``instance`` (init, serve, demo, keys), ``people`` (users, tokens,
audit), ``records`` (reports, incidents, verification, duplicates), ``imports`` and
``releases``; ``base`` holds the group and the shared helpers.
"""

from haven.cli import imports, instance, people, records, releases
from haven.cli.base import cli, main

__all__ = ["cli", "imports", "instance", "main", "people", "records", "releases"]
