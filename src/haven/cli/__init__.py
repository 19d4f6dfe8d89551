"""The ``haven`` command: each subcommand opens the database, calls one service, prints.

One module per domain: ``instance`` (init, serve, demo, keys), ``people`` (users, tokens,
audit), ``records`` (reports, incidents, verification, duplicates), ``imports`` and
``releases``, ``custody`` (verify, package, heads, proofs), ``evidence`` (files of an
incident), ``facilities`` (registry, status, movements), ``notifications`` (parties,
notifications, alerts); ``base`` holds the group and the shared helpers.
"""

from haven.cli import (
    accountability,
    corridors,
    custody,
    evidence,
    facilities,
    forecast,
    hotspots,
    imports,
    instance,
    notifications,
    people,
    records,
    releases,
    report,
    routing,
)
from haven.cli.base import cli, main

__all__ = [
    "accountability",
    "cli",
    "corridors",
    "custody",
    "evidence",
    "facilities",
    "forecast",
    "hotspots",
    "imports",
    "instance",
    "main",
    "notifications",
    "people",
    "records",
    "releases",
    "report",
    "routing",
]
