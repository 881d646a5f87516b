"""The side-by-side suite as data: a table of scenarios and a table of targets.

Adding a measurement is adding a row.

- A ``Scenario`` names a stack builder (``bench/stacks.py``) and an app; the harness
  calls it the way a server does, one scenario per child process. A scenario that is
  not a WSGI request (an emit, a throughput loop, a latency percentile under a hung
  broker) gives ``measure`` instead: ``"module:function"`` (a module in bench/), called
  once in its own child as ``function(setup)``; it returns an object with
  ``round(calls, seconds) -> {"value": <in unit>, "calls": n, "extra": {...}}`` and,
  optionally, ``prepare(warmup_seconds) -> facts`` and ``close()``
  (``bench/emit_measures.py`` is an example).
- A ``Target`` compares two scenarios round by round (``ratio``: a / b, or
  ``difference``: a - b) or reads one (``value``), and prints PASS or MISS against its
  limit. Targets are never asserted: a benchmark informs, the docs explain a miss.

Issue 10 (item 6) adds its rows here: a delivered/s scenario per producer count and a
synchronous Notifier loop beside it (``measure``, ``unit="/s"``,
``higher_is_better=True``) with ``ratio >= 2`` targets; the gunicorn requests/s rows
the same way; the hung-broker p99 as a ``difference`` target. Two of its targets are
already rows, since this suite measures both sides of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    name: str  # "<group>.<stack>": the group is the table section
    title: str
    builder: str = ""  # a function name in bench/stacks.py
    app: str = "list_app"  # list_app, generator_app or failing_app
    measure: str = ""  # "module:function" for a scenario that is not a WSGI request
    unit: str = "µs"
    higher_is_better: bool = False
    broker: bool = False  # needs RabbitMQ on 127.0.0.1:5672 (skipped, and said, without)
    null_handler: bool = False  # the root logger gets a NullHandler instead of the file

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]


def _happy(body: str, app: str) -> list[Scenario]:
    rows = [
        ("bare", "bare", "bare app"),
        ("tryexcept", "tryexcept", "minimal try/except"),
        ("faultwrap", "faultwrap_off", "faultwrap (notifications off)"),
        ("catcherrors", "catcherrors", "oslo.middleware CatchErrors"),
        ("audit", "audit", "keystonemiddleware AuditMiddleware (noop)"),
        ("sentry", "sentry", "sentry-sdk SentryWsgiMiddleware (no DSN)"),
    ]
    return [
        Scenario(f"{body}.{stack}", title, builder, app)
        for stack, builder, title in rows
    ]


SCENARIOS: list[Scenario] = [
    *_happy("list", "list_app"),
    *_happy("generator", "generator_app"),
    Scenario("fault.tryexcept", "minimal try/except (static 500, no log)", "tryexcept",
             "failing_app"),
    Scenario("fault.faultwrap", "faultwrap, notifications off", "faultwrap_off",
             "failing_app"),
    Scenario("fault.faultwrap_log", "faultwrap, api.fault to the log driver",
             "faultwrap_log", "failing_app"),
    Scenario("fault.faultwrap_rabbit", "faultwrap, api.fault to RabbitMQ",
             "faultwrap_rabbit", "failing_app", broker=True),
    Scenario("fault.faultwrap_held", "faultwrap, api.fault on, sender held",
             "faultwrap_held", "failing_app"),
    Scenario("fault.catcherrors", "oslo.middleware CatchErrors", "catcherrors",
             "failing_app"),
    Scenario("fault.audit", "AuditMiddleware (noop) in a try/except", "audit_outer",
             "failing_app"),
    Scenario("fault.sentry", "sentry-sdk (no DSN) in a try/except", "sentry_outer",
             "failing_app"),
    Scenario("fault.naive", "naive sync api.fault (log + Notifier to RabbitMQ)", "naive",
             "failing_app", broker=True),
    Scenario("emit.oslo_fake", "oslo.messaging Notifier.error, messagingv2 to fake:/ (sync)",
             measure="emit_measures:oslo_direct"),
    Scenario("emit.faultwrap_held", "faultwrap Notifier.error, sender held",
             measure="emit_measures:faultwrap_held"),
    Scenario("emit.faultwrap_off", "faultwrap Notifier.error, notifications off",
             measure="emit_measures:faultwrap_off"),
    Scenario("publish.oslo_sync", "oslo.messaging Notifier.error, messagingv2 to RabbitMQ (sync)",
             measure="publish_measures:oslo_sync", unit="/s", higher_is_better=True, broker=True),
    *(
        Scenario(f"publish.batch_{size}", f"faultwrap batch_publisher, {size} per batch, confirmed",
                 measure=f"publish_measures:batch_{size}", unit="/s", higher_is_better=True,
                 broker=True)
        for size in (1, 10, 100, 500)
    ),
    *(
        Scenario(f"deliver.{kind}_{n}", f"{title}, {n} producer thread{'s' if n > 1 else ''}",
                 measure=f"deliver_measures:{kind}_{n}", unit="/s", higher_is_better=True,
                 broker=True)
        for kind, title in (("oslo_sync", "oslo.messaging Notifier.error loop (sync)"),
                            ("faultwrap", "faultwrap notifier, sender thread, batched"))
        for n in (1, 4)
    ),
    Scenario("outage.healthy", "p99 of a fault, api.fault on, broker healthy (proxy)",
             measure="outage_measures:healthy", broker=True),
    Scenario("outage.hung", "p99 of a fault, api.fault on, broker hung (proxy)",
             measure="outage_measures:hung", broker=True),
    Scenario("outage.memory_down", "RSS growth over faults 50,000-100,000, broker down",
             measure="outage_measures:memory_down", unit="MB", broker=True),
    Scenario("outage.disk_down", "spool files / (spool_max_bytes + 4 MiB), broker down",
             measure="outage_measures:disk_down", unit="×", broker=True),
    Scenario("nullhandler.faultwrap", "faultwrap, notifications off, NullHandler",
             "faultwrap_off", "failing_app", null_handler=True),
    Scenario("nullhandler.catcherrors", "oslo.middleware CatchErrors, NullHandler",
             "catcherrors", "failing_app", null_handler=True),
]

@dataclass(frozen=True)
class Group:
    """A table section. ``floor``: what "net" subtracts (the cost of serving at all);
    ``reference``: what the "× ref" column divides by. Both measured in the same round."""

    title: str
    floor: str
    reference: str


GROUPS = {
    "list": Group("Happy path, list body", "list.bare", "list.tryexcept"),
    "generator": Group("Happy path, generator body", "generator.bare", "generator.tryexcept"),
    "fault": Group(
        "Fault path: the app raises (secret in the text); one real log file handler for all",
        "fault.tryexcept",
        "fault.catcherrors",
    ),
    "emit": Group(
        "One emit, small payload (5 keys), caller's side only (bench_emit.py's first part)",
        "",
        "emit.oslo_fake",
    ),
    "publish": Group(
        "Delivered/s to RabbitMQ, one producer, counted at the broker (publisher alone)",
        "",
        "publish.oslo_sync",
    ),
    "deliver": Group(
        "Delivered/s end to end, counted at the broker after a flush (issue 10.6)",
        "",
        "deliver.oslo_sync_1",
    ),
    "outage": Group(
        "A broker outage from the request thread (issue 10.6): p99, memory, disk",
        "",
        "outage.healthy",
    ),
    "nullhandler": Group(
        "Fault path, log records made but not written (NullHandler)",
        "fault.tryexcept",
        "nullhandler.catcherrors",
    ),
}


@dataclass(frozen=True)
class Target:
    issue: str
    label: str
    kind: str  # "ratio" (a / b), "difference" (a - b) or "value" (a)
    a: str
    b: str
    op: str  # "<=" or ">="
    limit: float


TARGETS: list[Target] = [
    Target("9.8", "happy path, list body: faultwrap / try/except", "ratio",
           "list.faultwrap", "list.tryexcept", "<=", 1.5),
    Target("9.8", "happy path, generator body: faultwrap / try/except", "ratio",
           "generator.faultwrap", "generator.tryexcept", "<=", 2.5),
    Target("9.8", "fault, notifications off: faultwrap / CatchErrors", "ratio",
           "fault.faultwrap", "fault.catcherrors", "<=", 0.5),
    Target("9.8", "caller's cost of an api.fault emit (held - off), µs", "difference",
           "fault.faultwrap_held", "fault.faultwrap", "<=", 25.0),
    Target("10.1", "delivered/s: batch_publisher (100 per batch) / sync Notifier", "ratio",
           "publish.batch_100", "publish.oslo_sync", ">=", 2.0),
    Target("10.6", "delivered/s, 1 producer: faultwrap / sync Notifier loop", "ratio",
           "deliver.faultwrap_1", "deliver.oslo_sync_1", ">=", 2.0),
    Target("10.6", "delivered/s, 4 producers: faultwrap / sync Notifier loop", "ratio",
           "deliver.faultwrap_4", "deliver.oslo_sync_4", ">=", 2.0),
    Target("10.6", "hung broker: p99 of a fault, hung - healthy, µs", "difference",
           "outage.hung", "outage.healthy", "<=", 300.0),
    Target("10.6", "memory, broker down: RSS growth over the second 50,000 faults, MB",
           "value", "outage.memory_down", "outage.memory_down", "<=", 5.0),
    Target("10.6", "disk, broker down, spool on: files / (spool_max_bytes + wal)", "value",
           "outage.disk_down", "outage.disk_down", "<=", 1.0),
    Target("10.6", "fault, api.fault to RabbitMQ / notifications off", "ratio",
           "fault.faultwrap_rabbit", "fault.faultwrap", "<=", 1.3),
    Target("10.6", "naive sync api.fault / faultwrap api.fault to RabbitMQ", "ratio",
           "fault.naive", "fault.faultwrap_rabbit", ">=", 4.0),
]


def by_name() -> dict[str, Scenario]:
    return {s.name: s for s in SCENARIOS}
