"""Paste deployment files for the server tests: faultwrap in front of the demo app,
with oslo.middleware's healthcheck (and optionally faultwrap's metrics app) beside it
in one urlmap composite, as an operator would deploy it."""

from __future__ import annotations

from pathlib import Path


def healthcheck_composite(conf: Path, empty: Path, project: str, *, metrics: bool = False,
                          **healthcheck: object) -> str:
    """The ini text; ``conf`` is faultwrap's config file, ``empty`` the healthcheck's own
    (oslo.middleware reads one), ``healthcheck`` its extra options, in the given order."""
    routes = "/: api\n" + ("/metrics: metrics\n" if metrics else "") + "/healthcheck: healthcheck\n"
    metrics_app = (f"[app:metrics]\nuse = egg:faultwrap#metrics\noslo_config_file = {conf}\n\n"
                   if metrics else "")
    options = "".join(f"{name} = {value}\n" for name, value in healthcheck.items())
    return (
        "[composite:main]\nuse = egg:Paste#urlmap\n" + routes + "\n"
        "[pipeline:api]\npipeline = faultwrap demo\n\n"
        f"[filter:faultwrap]\nuse = egg:faultwrap#faultwrap\noslo_config_file = {conf}\n\n"
        "[app:demo]\nuse = egg:faultwrap#demo\n\n"
        + metrics_app
        + "[app:healthcheck]\nuse = egg:oslo.middleware#healthcheck\n"
        f"oslo_config_project = {project}\noslo_config_file = {empty}\n" + options
    )
