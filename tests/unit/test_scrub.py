"""Secrets never survive scrubbing; harmless text does; nothing raises."""

from __future__ import annotations

import time

import pytest
from oslo_utils import strutils

from faultwrap import drivers, scrub
from tests.support.secrets import CORPUS, FERNET, HEX_TOKEN, leaks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"password": "s3cret", "auth_token": "x", "name": "vm1"}',
         '{"password": "***", "auth_token": "***", "name": "vm1"}'),
        ("adminPass='abc' flavor=1", "adminPass='***' flavor=1"),
        ("token=abc&x=1", "token=***&x=1"),
        ("X-Auth-Token: abc\nHost: h", "X-Auth-Token: ***\nHost: h"),
        ("x-subject-token: abc", "x-subject-token: ***"),
        ("Authorization: Basic dXNlcjpwdw==", "Authorization: ***"),
        ("Cookie: session=abc; x=1", "Cookie: ***"),
        ("headers {'Authorization': 'Bearer abc'}", "headers {'Authorization': '***'}"),
        ("via Authorization: Bearer abc", "via Authorization: ***"),
        ("connect rabbit://guest:pw@host:5672/ failed", "connect rabbit://guest:***@host:5672/ failed"),
        ("mysql+pymysql://root:pw@db/nova", "mysql+pymysql://root:***@db/nova"),
        ("<password>abc</password>", "<password>***</password>"),
        ("--password abc --name x", "--password *** --name x"),
        # Command-line options with a secret name lose their separate value.
        ("openstack --os-password hunter2 server list", "openstack --os-password *** server list"),
        ("--os-token abc123 --os-auth-url http://k", "--os-token *** --os-auth-url http://k"),
        ('run --os-password "hunter 2" -v', "run --os-password *** -v"),
        ("run --password 'a b' -v", "run --password *** -v"),
        ("--os-region-name RegionOne -v --token", "--os-region-name RegionOne -v --token"),
        ("ls -l a - b", "ls -l a - b"),
        ('said "secret": "a\\"b" ok', 'said "secret": "***" ok'),
        ("configdrive=abcd", "configdrive=***"),
        ("sort_key=name key=v", "sort_key=name key=***"),
        ("no secrets here: size=3", "no secrets here: size=3"),
        ("GET http://h:80/v2?token=abc&limit=1", "GET http://h:80/v2?token=***&limit=1"),
        ("next=http://h/?password=abc&x=1", "next=http://h/?password=***&x=1"),
        ('cut "secret": "abc def\nnext line', 'cut "secret": "***\nnext line'),
        # A structure under a secret key goes whole: its inner names look harmless.
        ('keystone: {"token": {"id": "gAAAA", "expires": "x"}, "user": "bob"}',
         'keystone: {"token": ***, "user": "bob"}'),
        ("{'credentials': {'access': 'AK', 'blob': 'xyz'}}", "{'credentials': ***}"),
        ('auth={"passwordCredentials": {"username": "u", "pw": "hunter2"}} x=1',
         "auth=*** x=1"),
        ('secret: ["a", "b"] then ok=1', "secret: *** then ok=1"),
        ("secret=(1, 2) x=1", "secret=*** x=1"),
        ('token: {"id": "a}b\\"}", "x": [1, {"y": "z"}]} tail', "token: *** tail"),
        ('token: {"id": "cut off by a limit', "token: ***"),
    ],
)
def test_mask_text(text, expected):
    assert scrub.mask_text(text) == expected


@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_corpus_is_masked_and_keeps_its_useful_text(entry):
    masked = scrub.mask_text(entry.text)
    assert leaks(masked) == []
    assert entry.masked in masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Keystone tokens need no key: fernet anywhere, UUID tokens after "token".
        (f"invalid token {FERNET}", "invalid token ***"),
        (f"['{FERNET}']", "['***']"),
        (f"Token {HEX_TOKEN.upper()} expired", "Token *** expired"),
        (f"subject token id '{HEX_TOKEN}'", "subject token id '***'"),
        (f"auth_token {HEX_TOKEN}", "auth_token ***"),
        # Bare hex elsewhere is an id (project, user, instance): kept.
        (f"project {HEX_TOKEN} over quota", f"project {HEX_TOKEN} over quota"),
        (f"token {HEX_TOKEN[:31]} short", f"token {HEX_TOKEN[:31]} short"),
        ("gAAAAAshort", "gAAAAAshort"),
        # Bearer credentials in prose.
        ("sent Bearer abc.def-ghi_jkl= upstream", "sent Bearer *** upstream"),
        # Multi-host transport URLs: every password, and unencoded "@" in one.
        ("rabbit://u:p1@h1:5672,u:p2@h2:5672/vhost", "rabbit://u:***@h2:5672/vhost"),
        ("mysql://nova:p@ss@db/nova", "mysql://nova:***@db/nova"),
    ],
)
def test_tokens_without_a_key(text, expected):
    assert scrub.mask_text(text) == expected


def test_mask_text_odd_inputs():
    class Raises:
        def __str__(self):
            raise RuntimeError("password=leak")

    class NotStr:
        def __str__(self):
            return 42  # noqa: PLE0307 - the broken object under test

    assert scrub.mask_text(Raises()) == "<unprintable Raises>"
    assert scrub.mask_text(None) == "None"
    assert scrub.mask_text(12) == "12"
    assert scrub.mask_text(b"\xff\xfepassword=x") == "\\xff\\xfepassword=***"
    assert scrub.mask_text(NotStr()) == "<unprintable NotStr>"


def test_truncation_marker_within_limit():
    text = "a" * 100
    out = scrub.mask_text(text, 40)
    assert len(out) == 40
    assert out.endswith(scrub.TRUNCATION_MARKER)
    assert scrub.mask_text("short", 40) == "short"
    assert scrub.mask_text(text, 0) == text  # 0 / None: no limit
    assert scrub.mask_text(text, 5) == "aaaaa"


def test_secret_straddling_the_cut_is_masked_before_cutting():
    text = "x" * 30 + "password=" + "s" * 50
    out = scrub.mask_text(text, 45)
    assert "s" not in out.replace("password", "")


@pytest.mark.parametrize("evil", [
    "a" * 200_000, "a." * 100_000, "a=b " * 50_000, '"' * 200_000, "x:" * 100_000,
    "a=b=c=d" * 30_000, "token=\"" * 30_000, "token={" * 30_000, "token=" + "[" * 200_000,
    "{token=" * 30_000, "token:{'" * 30_000, "--token " * 30_000, '--token "' * 30_000,
    "token " * 40_000, "token" * 40_000, "Xtoken" * 40_000, "token " + "a" * 200_000, "gAAAAA" * 40_000, "Bearer " * 40_000,
    "x://a:" + "b@" * 100_000, "x://a:" * 40_000,
])
def test_no_catastrophic_backtracking(evil):
    start = time.perf_counter()
    scrub.mask_text(evil)
    scrub.mask_url("http://h/" + evil + "?" + evil)
    assert time.perf_counter() - start < 5  # quadratic regexes take minutes here


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://u:p@h/v1/x?token=abc&limit=10&X-Auth-Token=q&password=x",
         "http://u:***@h/v1/x?token=***&limit=10&X-Auth-Token=***&password=***"),
        ("http://h/v1?key=1;temp_url_sig=2;a=3", "http://h/v1?key=***;temp_url_sig=***;a=3"),
        ("http://h/cb#access_token=z&state=1", "http://h/cb#access_token=***&state=1"),
        ("http://h/v1/servers/abc;token=x", "http://h/v1/servers/abc;token=***"),
        ("http://h/v1/servers?name=a%20b&flag", "http://h/v1/servers?name=a%20b&flag"),
        ("http://h/v1?pass%77ord=x", "http://h/v1?pass%77ord=***"),
        ("http://user@h/", "http://user@h/"),
        ("/relative?a=1&secret=2", "/relative?a=1&secret=***"),
    ],
)
def test_mask_url(url, expected):
    assert scrub.mask_url(url) == expected


def test_mask_url_odd_inputs():
    assert scrub.mask_url(None) == "None"
    assert scrub.mask_url(b"http://h/?token=x") == "http://h/?token=***"
    assert scrub.mask_url("http://[::1/?password=x") == "http://[::1/?password=***"


@pytest.mark.parametrize(
    ("name", "secret"),
    [("password", True), ("adminPass", True), ("X-Auth-Token", True), ("key", True),
     ("private_key", True), ("sort_key", False), ("name", False), ("limit", False),
     (None, False), ("", False)],
)
def test_is_secret_key(name, secret):
    assert scrub.is_secret_key(name) is secret


@pytest.mark.parametrize("key", sorted(drivers.oslo_secret_keys()))
def test_oslo_net_runs_wherever_mask_password_would_change_the_text(key):
    for text in (f"'{key}': 'hunter2'", f"<{key}>hunter2</{key}>", f"{key.upper()}=hunter2",
                 "nothing to see here"):
        assert scrub._oslo_net(text) == strutils.mask_password(text, secret=scrub.MASK)


@pytest.mark.parametrize(
    "name", ["password", "adminPass", "X-Auth-Token", "key", "temp_url_sig", "os.password",
             "auth-key", "SessionID", *sorted(drivers.oslo_secret_keys())])
def test_every_secret_key_is_a_candidate_for_the_pair_scan(name):
    assert scrub.is_secret_key(name)
    assert scrub._may_hold_secret_key(f"x {name}=v")
    assert scrub.mask_text(f"x {name}=hunter2") == f"x {name}=***"


def test_text_without_a_candidate_key_is_returned_as_it_is():
    text = "connection to db:5432 refused (limit=10, name: web1)"
    assert not scrub._may_hold_secret_key(text)
    assert scrub.mask_text(text) == text


@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_every_corpus_text_takes_the_masking_path(entry):
    assert scrub._may_need_masking(entry.text)
    for line in entry.text.splitlines():
        if any(secret in line for secret in entry.secrets):
            assert scrub._may_need_masking(line), line
