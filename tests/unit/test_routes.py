"""Exchanges and topics per family (issue 11 item 1): what each emitter hands the
driver, with the defaults a stock consumer reads and with each option overridden.

The ``test`` driver records no target; ``drivers.send`` records the route it was
given for it (``drivers.TEST_ROUTES``), the messaging drivers' Target is checked in
test_drivers.py and on the broker in tests/functional/test_routes_on_broker.py.
"""

from __future__ import annotations

import pytest
from oslo_config import cfg

from faultwrap import conf as fw_conf
from faultwrap import notifier, settings
from faultwrap.emitters import families, image
from tests.support.conf import make_conf
from tests.support.emitters import every_emitter

VERSIONED = "versioned_notifications"
LEGACY = "notifications"

#: event type -> (exchange, topics) with every option at its default.
DEFAULTS = {
    "compute.instance.update": ("nova", (LEGACY,)),
    "compute.instance.create.end": ("nova", (LEGACY,)),
    "image.create": ("glance", (LEGACY,)),
    "task.run": ("glance", (LEGACY,)),
    "api.fault (legacy)": (None, (LEGACY,)),
    "service.create": ("nova", (VERSIONED,)),
    "compute_node.create": ("nova", (VERSIONED,)),
    "baremetal.node.power_set.start": ("ironic", ("ironic_versioned_notifications",)),
    "api.fault": (None, (VERSIONED,)),
}


def routing_conf(**notifications) -> cfg.ConfigOpts:
    return make_conf(
        oslo_messaging_notifications={"driver": ["test"], "transport_url": "fake:/"},
        notifications={"delivery_sync": True, "host": "testhost",
                       "notification_format": "both",
                       "notify_on_state_change": "vm_state", **notifications},
    )


def emitters(conf: cfg.ConfigOpts) -> dict:
    calls = every_emitter(conf)
    calls["task.run"] = lambda: image.notify_task(None, "task.run", {"id": "t1"}, conf=conf)
    calls["api.fault (legacy)"] = lambda: notifier.get_notifier("api", conf=conf).error(
        None, "api.fault", {"status": 500})
    return calls


def sent_routes(conf: cfg.ConfigOpts, notifications) -> dict:
    """``{name: (exchange, topics)}`` of what each emitter handed the test driver."""
    got = {}
    for name, call in emitters(conf).items():
        notifications.reset()
        assert call(), name
        event_type = name.removesuffix(" (legacy)")
        routes = {(e, t) for et, e, t in notifications.routes if et == event_type}
        assert len(routes) == 1, (name, notifications.routes)
        got[name] = routes.pop()
    return got


@pytest.fixture
def routed(notifications):
    confs = []

    def make(**notifications_opts):
        conf = routing_conf(**notifications_opts)
        confs.append(conf)
        return conf

    yield make
    for conf in confs:
        notifier.reset(conf)


def test_every_family_goes_where_its_stock_consumer_listens(routed, notifications):
    assert sent_routes(routed(), notifications) == DEFAULTS


def test_each_family_option_overrides_its_own_family_only(routed, notifications):
    conf = routed(compute_exchange="billing", compute_topics=["usage", "audit"],
                  baremetal_exchange="bm", baremetal_topics=["bm_events"],
                  api_fault_exchange="keystone", task_topics=["tasks"])
    got = sent_routes(conf, notifications)
    assert got == {
        **DEFAULTS,
        "compute.instance.update": ("billing", ("usage", "audit")),
        "compute.instance.create.end": ("billing", ("usage", "audit")),
        "task.run": ("glance", ("tasks",)),
        "baremetal.node.power_set.start": ("bm", ("bm_events",)),
        "api.fault (legacy)": ("keystone", (LEGACY,)),
        "api.fault": ("keystone", (VERSIONED,)),
    }


def test_explicit_oslo_and_versioned_topics_apply_to_families_without_their_own(
        routed, notifications):
    conf = routed(versioned_notifications_topics=["v1", "v2"], image_topics=["images"])
    conf.set_override("topics", ["ops"], group="oslo_messaging_notifications")
    got = sent_routes(conf, notifications)
    assert got["compute.instance.update"] == ("nova", ("ops",))
    assert got["task.run"] == ("glance", ("ops",))
    assert got["api.fault (legacy)"] == (None, ("ops",))
    assert got["image.create"] == ("glance", ("images",))  # its own option wins
    assert got["service.create"] == ("nova", ("v1", "v2"))
    assert got["api.fault"] == (None, ("v1", "v2"))
    # baremetal's own default is not "unset": Ironic's topic stays.
    assert got["baremetal.node.power_set.start"] == ("ironic", ("ironic_versioned_notifications",))


def test_empty_exchange_and_topics_mean_the_fallbacks(routed, notifications):
    conf = routed(compute_exchange="", baremetal_topics=[])
    got = sent_routes(conf, notifications)
    assert got["compute.instance.update"] == (None, (LEGACY,))
    assert got["baremetal.node.power_set.start"] == ("ironic", (VERSIONED,))


def test_events_of_no_family_go_where_oslo_messaging_sends_them(routed, notifications):
    conf = routed()
    assert notifier.get_notifier("myservice", conf=conf).info(None, "widget.create", {})
    assert notifier.get_versioned_notifier("w:h", conf=conf).info(None, "widget.create", {})
    assert notifications.routes == [("widget.create", None, (LEGACY,)),
                                    ("widget.create", None, (VERSIONED,))]


def test_routes_are_resolved_once_and_reloaded_explicitly(routed, notifications):
    conf = routed()
    core = notifier.init(conf)
    conf.set_override("image_exchange", "images2", group="notifications")
    assert core.settings.route(False, "image.create").exchange == "glance"
    notifier.init(conf)
    assert core.settings.route(False, "image.create") == settings.Route(
        "images2", (LEGACY,), "image")


def test_a_bad_exchange_or_topic_in_the_file_stops_init(tmp_path):
    path = tmp_path / "bad.conf"
    path.write_text("[oslo_messaging_notifications]\ndriver = test\ntransport_url = fake:/\n"
                    "[notifications]\nimage_exchange = no spaces allowed\n")
    conf = make_conf()
    conf(["--config-file", str(path)], default_config_files=[], default_config_dirs=[])
    try:
        with pytest.raises(cfg.ConfigFileValueError, match="image_exchange"):
            notifier.init(conf)
        path.write_text("[notifications]\nbaremetal_topics = ok, not ok\n")
        conf.reload_config_files()
        with pytest.raises(cfg.ConfigFileValueError, match="baremetal_topics"):
            notifier.init(conf)
    finally:
        notifier.reset(conf)


def test_every_family_row_names_the_route_of_its_event_types():
    for name, family in families.FAMILIES.items():
        route = fw_conf.route_family(True, family.event_type("update"))
        assert route is not None and route.name == family.route == name, name


def test_every_route_family_has_both_options_in_the_sample_config():
    names = {opt.dest for opt in fw_conf.routing_opts}
    assert names == {f"{f.name}_{kind}" for f in fw_conf.ROUTE_FAMILIES
                     for kind in ("exchange", "topics")}
    assert {f.name for f in fw_conf.ROUTE_FAMILIES} == {
        "compute", "service", "compute_node", "image", "task", "baremetal", "api_fault"}


def test_an_event_type_that_is_no_string_is_counted_never_raised(routed, notifications):
    conf = routed()
    assert notifier.get_notifier("api", conf=conf).info(None, 5, {}) is False
    assert notifier.stats(conf=conf)["dropped"]["build_failed"] == 1
    assert notifications.messages == []
