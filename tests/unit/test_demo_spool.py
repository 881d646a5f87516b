"""``faultwrap demo --transport-url`` turns the spool on in a scratch directory."""

from __future__ import annotations

import os
import stat
import tempfile

from oslo_config import cfg

from faultwrap import demo


def test_transport_url_turns_the_spool_on_in_a_private_scratch_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    conf = cfg.ConfigOpts()
    demo.configure(conf, "rabbit://u:p@h:5672/", None)
    path = conf.notifications.spool_path
    assert path is not None and path.startswith(str(tmp_path))
    assert os.path.basename(path) == "spool.sqlite"
    mode = stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
    assert mode == 0o700  # the notifications are scrubbed, still nobody else's business


def test_without_a_transport_url_there_is_no_spool():
    conf = cfg.ConfigOpts()
    demo.configure(conf, None, None)
    assert conf.notifications.spool_path is None


def test_a_config_file_spool_path_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    path = tmp_path / "c.conf"
    path.write_text(f"[notifications]\nspool_path = {tmp_path / 'mine.sqlite'}\n")
    conf = cfg.ConfigOpts()
    demo.configure(conf, "rabbit://u:p@h:5672/", str(path))
    assert conf.notifications.spool_path == str(tmp_path / "mine.sqlite")
