"""The secret corpus: one list of credential-bearing texts that every sink test raises.

Each entry is an exception message as services really produce them, the secret
fragments in it that must never be written anywhere, and what the masked text keeps
(so that a sink that writes nothing at all does not pass for a safe one).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass(frozen=True)
class Secret:
    """One corpus entry."""

    name: str
    text: str
    secrets: tuple[str, ...]
    masked: str


def _fernet_token() -> str:
    """A Keystone fernet token's shape: version byte 0x80, a 64-bit timestamp, IV,
    ciphertext and HMAC, base64url (what ``keystone token issue`` prints)."""
    raw = (b"\x80" + (1_764_000_000).to_bytes(8, "big") + bytes(range(16))
           + b"faultwrap-corpus-ciphertext-0123456789abcdef" + bytes(range(32, 64)))
    return base64.urlsafe_b64encode(raw).decode("ascii")


FERNET = _fernet_token()
HEX_TOKEN = "3f2a9c0d8e7b6a5f4e3d2c1b0a998877"

CORPUS: tuple[Secret, ...] = (
    Secret("url_userinfo",
           "lost backend mysql+pymysql://nova:Hunter2Db@db.example.org/nova",
           ("Hunter2Db",), "mysql+pymysql://nova:***@db.example.org/nova"),
    Secret("transport_url_two_hosts",
           "rabbit://openstack:R4bbitPwOne@ctl1:5672,openstack:R4bbitPwTwo@ctl2:5672/ is down",
           ("R4bbitPwOne", "R4bbitPwTwo"), "rabbit://openstack:***@ctl2:5672/ is down"),
    Secret("password_in_prose", "db password=Hunter2Prose unreachable",
           ("Hunter2Prose",), "db password=*** unreachable"),
    Secret("token_in_query",
           "GET http://keystone:5000/v3/auth?token=QueryT0kenValue&limit=1 failed",
           ("QueryT0kenValue",), "http://keystone:5000/v3/auth?token=***&limit=1 failed"),
    Secret("secret_in_prose", "vault rejected secret=VaultS3cretValue for backend",
           ("VaultS3cretValue",), "vault rejected secret=*** for backend"),
    Secret("x_auth_token_in_prose", "upstream refused X-Auth-Token: XAuthT0kenProse (401)",
           ("XAuthT0kenProse",), "upstream refused X-Auth-Token: *** (401)"),
    Secret("x_auth_token_header_line",
           "request headers:\nX-Auth-Token: XAuthT0kenLine\nAccept: application/json",
           ("XAuthT0kenLine",), "X-Auth-Token: ***"),
    Secret("authorization_bearer",
           "proxy sent Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.QmVhcmVyU2VjcmV0.c2ln",
           ("QmVhcmVyU2VjcmV0", "eyJhbGciOiJIUzI1NiJ9"), "proxy sent Authorization: ***"),
    Secret("os_password_flag", "openstack --os-password OsCl1Passw0rd server list failed",
           ("OsCl1Passw0rd",), "openstack --os-password *** server list failed"),
    Secret("json_password",
           'keystone said 401 for {"user": {"name": "admin", "password": "JsonPassw0rd"}}',
           ("JsonPassw0rd",), '"password": "***"'),
    Secret("aws_secret_access_key_equals",
           "boto3 config aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/AwsEqualsKey rejected",
           ("AwsEqualsKey", "wJalrXUtnFEMI"), "aws_secret_access_key=*** rejected"),
    Secret("aws_secret_access_key_colon",
           "s3 profile aws_secret_access_key: AwsC0lonSecretKey1234 invalid",
           ("AwsC0lonSecretKey1234",), "aws_secret_access_key: *** invalid"),
    Secret("keystone_uuid_token", f"token {HEX_TOKEN} is not valid",
           (HEX_TOKEN,), "token *** is not valid"),
    Secret("keystone_fernet_token", f"invalid token {FERNET} (expired?)",
           (FERNET, FERNET[10:40]), "invalid token *** (expired?)"),
)

#: A secret in the request's query string (the server tests send it on every request):
#: faultwrap masks it in its lines; the servers' own request lines must be set up not
#: to print query strings (docs/logging.rst).
QUERY_SECRET = "QueryStr1ngT0ken"
QUERY = f"token={QUERY_SECRET}&limit=1"
QUERY_MASKED = "token=***&limit=1"

#: Every fragment that must never be written.
ALL_SECRETS: tuple[str, ...] = (
    *(s for entry in CORPUS for s in entry.secrets), QUERY_SECRET)


def leaks(text: str) -> list[str]:
    """The corpus secrets found in ``text`` (empty: nothing leaked)."""
    return [secret for secret in ALL_SECRETS if secret in text]
