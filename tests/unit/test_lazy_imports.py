"""oslo.messaging (and eventlet and oslo.service through it) is imported only where
notifications are on: a pipeline with ``notify_api_faults`` off never pays for it, and
a worker prints nothing on stderr (eventlet warns on import).

Each case runs in a fresh interpreter, with Python's default warning filters, since
this test process has long imported everything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.python import ROOT, run_python

PASTE_INI = ROOT / "etc" / "faultwrap" / "api-paste.ini"
HEAVY = ("oslo_messaging", "eventlet", "oslo_service")

#: Load a paste pipeline, serve faults through it, print what happened as JSON.
#: faultwrap's own log lines go to stdout, so stderr holds only what nobody asked for.
SERVE_PIPELINE = """
import json, logging, sys
logging.basicConfig(stream=sys.stdout, level=logging.INFO)
from paste.deploy import loadapp
import webob
app = loadapp("config:" + sys.argv[1])
statuses = [webob.Request.blank(path).get_response(app).status_int
            for path in ("/v1/ok", "/v1/unsafe", "/v1/conflict")]
sent = []
if "oslo_messaging" in sys.modules:
    from oslo_messaging.notify import _impl_test
    sent = [m["event_type"] for _c, m, _p, _r in _impl_test.NOTIFICATIONS]
heavy = sorted(name for name in {heavy!r} if name in sys.modules)
print("RESULT " + json.dumps({{"statuses": statuses, "heavy": heavy, "sent": sent}}))
"""

#: A service's own config file: messaging is configured, which must not matter.
SERVICE_CONF = """\
[oslo_messaging_notifications]
driver = {driver}
transport_url = fake:/
[notifications]
delivery_sync = true
"""

FILTER_SECTION = (
    "[filter:faultwrap]\npaste.filter_factory = faultwrap.middleware:FaultWrapper.factory\n"
)


def serve(paste_ini: Path) -> tuple[dict, str]:
    result = run_python(SERVE_PIPELINE.format(heavy=HEAVY), str(paste_ini))
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT ")), result.stderr


def pipeline(tmp_path: Path, options: str, driver: str = "messagingv2") -> Path:
    """The shipped demo pipeline, its faultwrap filter reading a service's config file."""
    service_conf = tmp_path / "service.conf"
    service_conf.write_text(SERVICE_CONF.format(driver=driver))
    text = PASTE_INI.read_text()
    assert FILTER_SECTION in text
    path = tmp_path / "api-paste.ini"
    path.write_text(text.replace(
        FILTER_SECTION, f"{FILTER_SECTION}oslo_config_file = {service_conf}\n{options}"
    ))
    return path


def test_the_shipped_pipeline_imports_no_oslo_messaging_and_prints_nothing():
    outcome, stderr = serve(PASTE_INI)
    assert outcome == {"statuses": [200, 500, 409], "heavy": [], "sent": []}
    assert stderr == ""


def test_notifications_off_in_a_service_with_messaging_configured(tmp_path):
    """nova.conf sets a driver and a transport; api faults are off: nothing is paid."""
    outcome, stderr = serve(pipeline(tmp_path, "notify_api_faults = false\n"))
    assert outcome == {"statuses": [200, 500, 409], "heavy": [], "sent": []}
    assert stderr == ""


def test_notifications_on_import_oslo_messaging_and_deliver(tmp_path):
    """The other side of the same switch: the test driver gets both faults."""
    outcome, _stderr = serve(pipeline(tmp_path, "notify_api_faults = true\n", driver="test"))
    assert outcome["statuses"] == [200, 500, 409]
    assert outcome["sent"] == ["api.fault", "api.fault"]
    assert "oslo_messaging" in outcome["heavy"]


@pytest.mark.parametrize(
    "module",
    ["faultwrap", "faultwrap.middleware", "faultwrap.notifier", "faultwrap.emitters.api",
     "faultwrap.conf", "faultwrap.context", "faultwrap.faults", "faultwrap.scrub",
     "faultwrap.delivery", "faultwrap.demo"],
)
def test_importing_the_request_path_modules_imports_no_oslo_messaging(module):
    result = run_python(
        f"import sys, {module}\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")


def test_the_seam_is_where_oslo_messaging_comes_in():
    """The check above can fail: faultwrap.drivers imports it, in the functions that
    use it (importing the seam alone does not)."""
    result = run_python(
        "import sys, warnings\nwarnings.simplefilter('ignore')\nimport faultwrap.drivers\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "from oslo_config import cfg\nfaultwrap.drivers.register_opts(cfg.ConfigOpts())\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    assert result.stdout == f"[]\n{sorted(HEAVY)}\n", result.stderr



#: Serve a fault carrying a W3C traceparent through a pipeline; print what was imported.
TRACED_FAULT = """
import json, sys
from paste.deploy import loadapp
import webob
app = loadapp("config:" + sys.argv[1])
header = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
status = webob.Request.blank("/v1/unsafe", headers=header).get_response(app).status_int
from oslo_messaging.notify import _impl_test
ids = [(m["payload"]["trace_id"], m["payload"]["span_id"]) for _c, m, _p, _r in _impl_test.NOTIFICATIONS]
otel = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry")
om = "oslo_middleware" in sys.modules
print("RESULT " + json.dumps({"status": status, "ids": ids, "otel": otel, "om": om}))
"""


def test_a_fault_with_a_traceparent_imports_no_opentelemetry(tmp_path):
    """OpenTelemetry is installed in the test environment; serving a traced fault through
    faultwrap (notifications on) still leaves it unimported. (oslo.middleware's package
    imports it for its own tracing filter, so the pipeline here has faultwrap alone.)"""
    paste_ini = pipeline(tmp_path, "notify_api_faults = true\n", driver="test")
    text = paste_ini.read_text()
    assert "pipeline = request_id faultwrap demo" in text
    paste_ini.write_text(text.replace("pipeline = request_id faultwrap demo",
                                      "pipeline = faultwrap demo"))
    result = run_python("import warnings; warnings.simplefilter('ignore')\n" + TRACED_FAULT,
                        str(paste_ini))
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")]
    assert json.loads(line.removeprefix("RESULT ")) == {
        "status": 500, "ids": [["4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"]],
        "otel": [], "om": False}
