"""``faultwrap check``: the network steps, the broker login and the round trip of
one test notification, with their AMQP helpers (``faultwrap.check`` runs them)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from faultwrap import checks
from faultwrap import conf as fw_conf
from faultwrap import settings as fw_settings
from faultwrap.check import (
    BROKER_DRIVERS,
    EXIT_BROKER,
    EXIT_LOGIN,
    EXIT_ROUND_TRIP,
    Failed,
    Skipped,
    State,
)

#: Transports the round trip can read back from (py-amqp, as oslo's rabbit driver).
AMQP_SCHEMES = ("rabbit", "kombu")


EVENT_TYPE = "faultwrap.check"


def check_broker(state: State) -> str:
    if not _uses_broker(state):
        raise Skipped(_why_no_broker(state))
    import amqp

    errors = []
    for host in state.hosts or [None]:
        hostname = (host.hostname if host else None) or "localhost"
        port = int((host.port if host else None) or 5672)
        user = (host.username if host else None) or "guest"
        password = (host.password if host else None) or "guest"
        vhost = state.url.virtual_host or "/"
        where = f"{hostname}:{port}"
        started = time.monotonic()
        done, result = _bounded(state.timeout, _connect, where, user, password, vhost,
                                state.timeout, _ssl(state))
        if not done or isinstance(result, TimeoutError):  # a socket timeout, or our own
            errors.append(f"no answer from {where} within {state.timeout:g} s")
            continue
        if isinstance(result, amqp.exceptions.AccessRefused):
            raise Failed(
                f"{where} refused user {user!r}: {result}",
                "check the user and password in the transport URL (rabbitmqctl "
                "authenticate_user <user> <password> on the broker)",
                EXIT_LOGIN,
            )
        if isinstance(result, amqp.exceptions.NotAllowed):
            raise Failed(
                f"{where} refused virtual host {vhost!r} for user {user!r}: {result}",
                f"create the vhost or grant it: rabbitmqctl set_permissions -p {vhost} {user} "
                "'.*' '.*' '.*'",
                EXIT_LOGIN,
            )
        if isinstance(result, ConnectionRefusedError):
            errors.append(f"connection refused by {where}")
        elif isinstance(result, BaseException):
            errors.append(f"{where}: {type(result).__name__}: {result}")
        else:
            state.connection = result
            elapsed = time.monotonic() - started
            return f"connected to {where} as {user}, vhost {vhost} in {elapsed:.2f} s"
    raise Failed(
        "; ".join(errors),
        "start RabbitMQ or correct the host and port in the transport URL; a broker "
        "that accepts but never answers is hung (or a firewall drops the traffic)",
        EXIT_BROKER,
    )


def check_round_trip(state: State) -> str:
    if state.connection is None:
        raise Skipped(_why_no_broker(state))
    from faultwrap import notifier

    conf = state.conf
    group = conf[checks.DRIVER_GROUP]
    topics = list(group.topics)
    try:  # before the overrides below: where the families go with this configuration
        families = fw_settings.describe_routes(fw_settings.resolve(conf).routes, state.exchange)
    except Exception:  # noqa: BLE001 - the config check reports a bad value
        families = ""
    drivers = [d for d in checks.configured_drivers(conf) if d in BROKER_DRIVERS]
    topic = f"faultwrap_check_{uuid.uuid4().hex[:12]}"
    queue = f"{topic}.info"
    check_id = uuid.uuid4().hex
    # Our own topic, so no real consumer gets (or loses) anything; sent on this
    # thread (delivery_sync), once (retry 0), through faultwrap's own path.
    conf.set_override("topics", [topic], group=checks.DRIVER_GROUP)
    conf.set_override("driver", drivers, group=checks.DRIVER_GROUP)
    conf.set_override("delivery_sync", True, group=fw_conf.NOTIFICATIONS_GROUP)
    conf.set_override("delivery_retry", 0, group=fw_conf.NOTIFICATIONS_GROUP)
    # A core of our own, not the process-wide one: if the send hangs, nothing at exit
    # waits for it.
    core = notifier.NotificationCore(conf)
    started = time.monotonic()
    try:
        done, sent = _bounded(state.timeout, lambda: core.get_notifier("faultwrap-check").info(
            None, EVENT_TYPE, {"check_id": check_id}))
        stats = core.stats()
        if not done:
            raise Failed(f"sending did not finish within {state.timeout:g} s",
                         "the broker accepted the connection but does not take messages: "
                         "check its alarms (rabbitmqctl status: disk or memory)",
                         EXIT_ROUND_TRIP)
        if sent is not True or stats["delivered"] < 1:
            raise Failed(f"the test notification was not sent: {stats.get('last_error')}",
                         "see the error above; the service's log has the same one",
                         EXIT_ROUND_TRIP)
        try:
            found = _read_back(state, queue, check_id, started + state.timeout)
        except Exception as exc:  # noqa: BLE001 - the connection failed while reading
            raise Failed(f"reading {queue!r} back failed: {type(exc).__name__}: {exc}",
                         "run the check again; if it persists, see the broker's log",
                         EXIT_ROUND_TRIP) from None
    finally:
        _delete_queue(state, queue)
        threading.Thread(target=core.close, args=(0,), daemon=True).start()
    if not found:
        raise Failed(
            f"sent to exchange {state.exchange!r} as {queue!r}, but it did not come back "
            f"within {state.timeout:g} s",
            "another consumer may be reading that queue, or the exchange is routed "
            "elsewhere; see docs/troubleshooting.rst",
            EXIT_ROUND_TRIP,
        )
    elapsed = time.monotonic() - started
    return (
        f"{EVENT_TYPE} sent as {queue} and read back in {elapsed:.2f} s (queue deleted); "
        "your consumers must read "
        f"exchange {state.exchange!r}, topics {', '.join(topics)} "
        f"(queues <topic>.<priority>, e.g. {topics[0] if topics else 'notifications'}.error)"
        + (f" for api.fault; faultwrap's families: {families}" if families else "")
        + ("" if fw_conf.file_value(conf, "control_exchange") else UNSET_EXCHANGE)
    )


#: Said when no file sets control_exchange: a service reading cfg.CONF has its own default.
UNSET_EXCHANGE = (
    "; control_exchange is unset here: on cfg.CONF the service's own default applies "
    "instead (Nova's is 'nova', Glance's 'glance')"
)


def _uses_broker(state: State) -> bool:
    drivers = checks.configured_drivers(state.conf)
    return any(d in BROKER_DRIVERS for d in drivers) and (
        state.url is not None and state.url.transport.split("+")[0] in AMQP_SCHEMES
    )


def _why_no_broker(state: State) -> str:
    if state.url is None or not any(
        d in BROKER_DRIVERS for d in checks.configured_drivers(state.conf)
    ):
        return "no broker driver configured"
    if state.url.transport.split("+")[0] not in AMQP_SCHEMES:
        return f"{state.url.transport}:// is not checked (only rabbit:// is read back)"
    return "the broker check failed"


def _ssl(state: State) -> bool:
    value = str((state.url.query or {}).get("ssl", "")).lower()
    return value in ("1", "true", "yes", "on")


def _connect(where: str, user: str, password: str, vhost: str, timeout: float,
             ssl: bool) -> Any:
    import amqp

    connection = amqp.Connection(
        where, userid=user, password=password, virtual_host=vhost, ssl=ssl,
        connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout,
    )
    try:
        connection.connect()
    except BaseException:
        close_quietly(connection)
        raise
    return connection


def _bounded(timeout: float, call: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """``call(*args)`` on a daemon thread, waited for at most ``timeout`` seconds.

    Returns (finished, its result or the exception it raised). A call still running
    is left behind: a hung broker must not hang the command.
    """
    box: list[Any] = []

    def target() -> None:
        try:
            box.append(call(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box.append(exc)

    thread = threading.Thread(target=target, name="faultwrap-check", daemon=True)
    thread.start()
    thread.join(timeout)
    return (bool(box), box[0] if box else None)


def _read_back(state: State, queue: str, check_id: str, deadline: float) -> bool:
    import amqp

    channel = state.connection.channel()
    try:
        while True:
            try:
                message = channel.basic_get(queue, no_ack=True)
            except amqp.exceptions.NotFound:  # the publisher declared no such queue
                return False
            if message is not None and check_id in _inner_text(message.body):
                return True
            if message is None:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)
    finally:
        close_quietly(channel)


def _inner_text(body: Any) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        outer = json.loads(text)
    except ValueError:
        return text
    return outer.get("oslo.message", text) if isinstance(outer, dict) else text


def _delete_queue(state: State, queue: str) -> None:
    def delete() -> None:
        channel = state.connection.channel()
        try:
            channel.queue_delete(queue)
        finally:
            close_quietly(channel)

    _bounded(state.timeout, delete)


def close_quietly(resource: Any) -> None:
    try:
        resource.close()
    except Exception:  # noqa: BLE001, S110 - best effort: the check's result is known
        pass
