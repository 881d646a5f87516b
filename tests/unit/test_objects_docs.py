"""The generated reference page and schemas are current, build cleanly, and the
"define your own notification" example in them works."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import jsonschema
import pytest

from faultwrap.objects import base, docgen, schema

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_committed_page_and_schemas_are_current():
    stale = docgen.outdated(DOCS)
    assert not stale, (
        f"out of date: {stale}; run `python -m faultwrap.objects.docgen` and commit the result"
    )


def test_page_lists_every_notification_with_level_payload_version_and_sample():
    page = (DOCS / docgen.PAGE).read_text()
    for cls in docgen.reference_classes():
        payload = cls.payload_class()
        for sample in cls.samples:
            envelope = json.loads((DOCS / docgen.SAMPLES / sample).read_text())
            section = page.split(f"\n{envelope['event_type']}\n", 1)[1].split("\n~", 1)[0]
            assert f":Level: ``{envelope['priority']}``" in section
            assert f"{payload.obj_name()}`` {payload.VERSION}" in section
            assert f".. literalinclude:: {docgen.SAMPLES}/{sample}" in section
    assert f".. literalinclude:: {docgen.EXAMPLE}" in page


def _copy_docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    for name in ("notification_samples", "notification_schemas", "examples"):
        shutil.copytree(DOCS / name, docs / name)
    shutil.copy(DOCS / "conf.py", docs / "conf.py")
    shutil.copy(DOCS / docgen.PAGE, docs / docgen.PAGE)
    return docs


def test_check_reports_stale_and_extra_files_and_write_fixes_them(tmp_path):
    docs = _copy_docs(tmp_path)
    (docs / docgen.PAGE).write_text("edited by hand\n")
    (docs / docgen.SCHEMAS / "ServiceStatusPayload.json").write_text("{}\n")
    (docs / docgen.SCHEMAS / "OldPayload.json").write_text("{}\n")
    assert docgen.main(["--check", str(docs)]) == 1
    assert docgen.outdated(docs) == [
        docgen.PAGE,
        f"{docgen.SCHEMAS}/ServiceStatusPayload.json",
        f"{docgen.SCHEMAS}/OldPayload.json (no longer generated)",
    ]
    assert docgen.main([str(docs)]) == 0
    assert docgen.outdated(docs) == []
    assert not (docs / docgen.SCHEMAS / "OldPayload.json").exists()
    assert docgen.main(["--check", str(docs)]) == 0


def test_schemas_are_valid_json_schema():
    for name, text in docgen.render_schemas().items():
        document = json.loads(text)
        jsonschema.Draft202012Validator.check_schema(document)
        assert document["$id"] == name


def test_schema_rejects_what_the_payload_would_not_send():
    from faultwrap.objects import service

    validator = jsonschema.Draft202012Validator(
        schema.payload_schema(service.ServiceStatusPayload),
        format_checker=jsonschema.FormatChecker(),
    )
    sample = json.loads((DOCS / docgen.SAMPLES / "service.create.json").read_text())["payload"]
    validator.validate(sample)
    data = sample["nova_object.data"]
    for bad in (
        {**sample, "nova_object.changes": ["host"]},
        {**sample, "nova_object.version": "1.0"},
        {**sample, "nova_object.data": {k: v for k, v in data.items() if k != "uuid"}},
        {**sample, "nova_object.data": {**data, "extra": 1}},
        {**sample, "nova_object.data": {**data, "disabled": None}},
        {**sample, "nova_object.data": {**data, "report_count": "1"}},
        {**sample, "nova_object.data": {**data, "last_seen_up": "2012-10-29 13:42:05"}},
        {**sample, "nova_object.data": {**data, "uuid": "not-a-uuid"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(bad)


def test_unknown_field_type_has_no_schema():
    from oslo_versionedobjects import fields as ovo_fields

    with pytest.raises(TypeError, match="no JSON Schema mapping for field type Set"):
        schema.type_schema(ovo_fields.Set(ovo_fields.String()))


def test_page_builds_with_sphinx_warnings_as_errors(tmp_path):
    # Sphinx is in the [test] extras: a missing Sphinx fails here, it is not skipped.
    docs = _copy_docs(tmp_path)
    (docs / "index.rst").write_text("faultwrap\n=========\n\n.. toctree::\n\n   versioned_notifications\n")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(docs), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "html" / "versioned_notifications.html").read_text()
    assert "baremetal.node.power_set.error" in html and "WidgetPayload" in html


# -- the documented example ---------------------------------------------------------------


@pytest.fixture(scope="module")
def example():
    path = DOCS / docgen.EXAMPLE
    spec = importlib.util.spec_from_file_location("faultwrap_docs_widget_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_documented_example_sends_widget_create(example, vconf, notifications):
    widget_id = str(uuid.uuid4())
    with base.strict():
        assert example.widget_created(None, {"id": widget_id, "name": "w1", "size": 3}, conf=vconf)
    (message,) = notifications.messages
    del message["message_id"], message["timestamp"]
    assert message == {
        "event_type": "widget.create",
        "priority": "INFO",
        "publisher_id": "acme-api:host1",
        "payload": {
            "acme_object.name": "WidgetPayload",
            "acme_object.namespace": "acme",
            "acme_object.version": "1.0",
            "acme_object.data": {"id": widget_id, "name": "w1", "size": 3},
        },
    }


def test_documented_example_rules(example, vconf, notifications):
    class Widget:  # any object with attributes works as a source
        id = str(uuid.uuid4())
        size = 1

    with base.strict():
        assert example.widget_created(None, Widget(), conf=vconf)  # no name: null
        with pytest.raises(base.NotificationSchemaError, match=r"WidgetPayload\.size"):
            example.widget_created(None, {"id": Widget.id}, conf=vconf)
    assert example.widget_created(None, {"id": Widget.id}, conf=vconf) is False  # logged only
    (message,) = notifications.messages
    assert message["payload"]["acme_object.data"]["name"] is None


def test_example_is_not_part_of_faultwraps_reference(example):
    assert "WidgetNotification" not in {c.obj_name() for c in docgen.reference_classes()}


def test_documented_fingerprint_recipe(example):
    from faultwrap.objects import fingerprint

    classes = [example.WidgetPayload, example.WidgetNotification]
    recorded = fingerprint.fingerprints(classes)
    assert set(recorded) == {"WidgetPayload", "WidgetNotification"}
    assert fingerprint.stale(recorded, fingerprint.fingerprints(classes)) == []
