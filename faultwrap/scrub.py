"""Masking of secrets in text and URLs before they reach the bus or the logs.

Exception messages, URLs and headers are the three places an API leaks credentials
into fault reports (Nova bugs 868360/874472). Everything here is total: any input,
including objects whose ``__str__`` raises, gives a string back and never an exception,
because a scrubber that fails would turn a fault report into a second fault.

Rules (documented for operators in docs/middleware.rst):

* A *secret key* is a parameter or field name that looks like a credential: it contains
  password, passwd, passphrase, secret, token, credential, authorization, cookie,
  signature, csrf, api_key/apikey, access_key, private_key, auth_key; or ends in ``pass``
  (adminPass) or ``_sig`` (temp_url_sig); or is ``key``, ``sig``, ``auth``, ``pwd``, ``session``; or is one of
  oslo.utils' own sensitive keys.
* In text, ``key=value``, ``key: value``, ``"key": "value"`` and ``'key': 'value'`` pairs
  with a secret key get the value replaced by ``***``; a value that is a structure
  (``{...}``, ``[...]``, ``(...)``) is replaced whole, nested keys and all; header lines ``X-*-Token:``,
  ``Authorization:``, ``Proxy-Authorization:``, ``Cookie:``, ``Set-Cookie:`` and
  ``X-Api-Key:`` lose their whole value; ``scheme://user:password@`` loses the password;
  command-line options with a secret name lose their separate value
  (``--os-password hunter2``, ``--os-token abc``); ``Bearer <credential>`` loses the
  credential wherever it stands; a Keystone token needs no key to be found: a fernet
  token (``gAAAAA`` and base64url) is masked anywhere, and a bare UUID token (32 or
  more hex digits) right after the word ``token`` (``invalid token 3f2a...``); then
  ``oslo_utils.strutils.mask_password`` runs as a safety net (it also covers the XML forms).
* In URLs, the userinfo password and the value of every secret query (or fragment)
  parameter are masked one by one, so harmless parameters stay readable.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from oslo_utils import strutils

from faultwrap import drivers

MASK = "***"

#: Appended to text cut by ``mask_text(..., limit)``; counted within the limit.
TRUNCATION_MARKER = "...[truncated]"

_SECRET_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "authorization",
    "cookie",
    "signature",
    "csrf",
    "apikey",
    "api_key",
    "access_key",
    "accesskey",
    "private_key",
    "privatekey",
    "auth_key",
    "authkey",
)
_SECRET_NAMES = frozenset({"key", "sig", "auth", "pwd", "session", "sessionid", "session_id"})
# oslo.utils' list (configdrive, chappassword, fernetkey...), through the seam.
_OSLO_KEYS = drivers.oslo_secret_keys()
# mask_password changes nothing in text that holds none of its keys (its own first
# test, a lower() per key); one search says the same. Without the list: always run it.
_OSLO_KEY_RE = re.compile("|".join(re.escape(k) for k in sorted(_OSLO_KEYS)) or r"(?s).")

_HEADER_NAMES = r"(?:X-[\w-]*-Token|X-Api-Key|Authorization|Proxy-Authorization|Cookie|Set-Cookie)"
_HEADER_LINE_RE = re.compile(rf"^(\s*{_HEADER_NAMES}\s*:)[^\r\n]*", re.IGNORECASE | re.MULTILINE)
# A command-line option and its separate value ("--os-password hunter2"); the name is
# checked with is_secret_key, so "--os-token x" goes and "--os-region x" stays.
_FLAG_RE = re.compile(
    r"""(?<!\S)(?P<flag>--?(?P<name>[A-Za-z][\w-]*))(?P<sp>[ \t]+)"""
    r"""(?P<value>"[^"\r\n]*"|'[^'\r\n]*'|[^\s\-"']\S*)"""
)
# The password runs to the last "@" of the authority, so an unencoded "@" in it is
# masked too ("mysql://nova:p@ss@db" -> "mysql://nova:***@db").
_USERINFO_RE = re.compile(r"((?<![\w+.-])[a-zA-Z][\w+.-]*://[^:/@\s]*:)[^/\s]*@")
# Keystone tokens without a key: fernet tokens (version byte 0x80, base64url) are
# unmistakable anywhere; a UUID token (32+ hex digits) only right after "token", since
# bare hex is also every project, user and instance id.
_FERNET_RE = re.compile(r"(?<![\w-])gAAAAA[\w-]{20,}={0,2}")
_HEX_TOKEN_RE = re.compile(
    r"""(?P<lead>token\w{0,32}[ \t]+(?:id[ \t]+)?["'(\[<]?)[0-9a-fA-F]{32,}(?![\w-])""",
    re.IGNORECASE,
)
# An HTTP bearer credential in prose ("sent Bearer eyJ..."); after a key or a header
# name it is masked with the pair already.
_BEARER_RE = re.compile(r"(?<![\w-])(?P<lead>Bearer[ \t]+)[\w.~+/-]+=*", re.IGNORECASE)
# A key (optionally quoted) and its separator; the value is matched separately, only
# after a secret key, so that scanning stays linear on any input.
_KEY_RE = re.compile(
    r"""(?<![\w.-])(?P<kq>["']?)(?P<key>[A-Za-z_][\w.-]*)(?P=kq)(?P<sep>\s*[:=]\s*)"""
)
# A quoted value (escapes allowed), a bare one (which may start with an auth scheme, so
# "Bearer abc" is masked whole), or an unterminated quote (masked to the end of line).
_VALUE_RE = re.compile(
    r"""(?P<q>["'])(?:\\.|(?!(?P=q))[^\\])*(?P=q)"""
    r"""|(?:(?:Basic|Bearer|Digest|Negotiate|OAuth|Token)\s+)?[^\s&;,'"}\])<>]+"""
    r"""|(?P<open>["'])[^\r\n]*""",
    re.IGNORECASE,
)


def is_secret_key(name: Any) -> bool:
    """Does this parameter/field/header name look like it holds a credential?"""
    if not isinstance(name, str):
        return False
    return _is_secret_name(name)


@functools.lru_cache(maxsize=1024)
def _is_secret_name(name: str) -> bool:
    norm = name.strip().lower().replace("-", "_").replace(".", "_")
    if not norm:
        return False
    if norm in _SECRET_NAMES or norm in _OSLO_KEYS or norm.endswith(("pass", "_sig")):
        return True
    return any(part in norm for part in _SECRET_PARTS)


def to_text(value: Any) -> str:
    """``value`` as a str, whatever it is; never raises.

    Bytes are decoded as UTF-8 with undecodable bytes escaped; an object whose
    ``__str__`` raises or returns a non-str is named by its class instead.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - any __str__ may raise; the caller needs text
        return f"<unprintable {_class_name(value)}>"
    if not isinstance(text, str):  # only a broken __str__ on a str subclass gets here
        return f"<unprintable {_class_name(value)}>"
    return text


def _class_name(value: Any) -> str:
    try:
        return type(value).__name__
    except Exception:  # noqa: BLE001  # pragma: no cover - type() always has a name
        return "object"


# Every secret key (see is_secret_key) holds one of these once lower-cased with "-" and
# "." as "_": text without any of them has no secret pair, and the pair scan is skipped.
def _normal(text: str) -> str:
    return text.lower().replace("-", "_").replace(".", "_")


_CANDIDATE_RE = re.compile("|".join(re.escape(_normal(part)) for part in sorted(
    {*_SECRET_PARTS, *_SECRET_NAMES, *_OSLO_KEYS, "pass", "sig"})))


def _may_hold_secret_key(text: str) -> bool:
    return _CANDIDATE_RE.search(_normal(text)) is not None


def _may_need_masking(text: str) -> bool:
    """False only for text no rule of ``mask_text`` can change: every rule needs a
    secret key name (pairs, flags, header lines, "token <hex>"), an ``@`` (userinfo),
    a fernet token's ``gAAAAA`` or the word ``bearer``."""
    return ("@" in text or "gAAAAA" in text or "bearer" in text.lower()
            or _may_hold_secret_key(text))


def _oslo_net(text: str) -> str:
    """oslo.utils' ``mask_password`` over ``text``, only where it could change it."""
    if not text or _OSLO_KEY_RE.search(text.lower()) is None:
        return text
    return strutils.mask_password(text, secret=MASK)


def _mask_pairs(text: str, net: bool = False) -> str:
    """Mask secret pairs; with ``net``, run oslo's mask_password on the text between them.

    oslo's patterns are greedy and, run over an already masked pair, swallow the
    harmless text after it (``token=***&x=1`` -> ``token=***``); confining them to
    the gaps keeps the safety net without that damage.
    """
    if not _may_hold_secret_key(text):
        return _oslo_net(text) if net else text
    out = []
    pos = 0
    search_from = 0
    while True:
        key = _KEY_RE.search(text, search_from)
        if key is None:
            break
        search_from = key.end()
        if not is_secret_key(key.group("key")):
            continue  # the value is scanned on: "url=http://h/?token=x" hides a pair
        if text[key.end() : key.end() + 1] in _OPENERS:
            # A structure ({"token": {"id": ...}}): its inner keys may be harmless
            # names holding the secret, so the whole of it goes.
            gap = text[pos : key.start()]
            out.append(_oslo_net(gap) if net else gap)
            out.append(f"{key.group(0)}{MASK}")
            pos = search_from = _structure_end(text, key.end())
            continue
        value = _VALUE_RE.match(text, key.end())
        if value is None:
            continue
        gap = text[pos : key.start()]
        out.append(_oslo_net(gap) if net else gap)
        quote = value.group("q") or value.group("open") or ""
        closing = value.group("q") or ""
        out.append(f"{key.group(0)}{quote}{MASK}{closing}")
        pos = search_from = value.end()
    tail = text[pos:]
    out.append(_oslo_net(tail) if net else tail)
    return "".join(out)


_OPENERS = {"{": "}", "[": "]", "(": ")"}


def _structure_end(text: str, start: int) -> int:
    """Index after the bracket that closes the one at ``start`` (quotes respected, one
    pass); the end of the text if it never closes, so a cut structure is masked whole."""
    expected: list[str] = []
    quote = ""
    i, end = start, len(text)
    while i < end:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in _OPENERS:
            expected.append(_OPENERS[ch])
        elif ch == expected[-1]:
            expected.pop()
            if not expected:
                return i + 1
        i += 1
    return end


def _mask_flag(match: re.Match) -> str:
    if not is_secret_key(match.group("name")):
        return match.group(0)
    return f"{match.group('flag')}{match.group('sp')}{MASK}"


def truncate(text: str, limit: int | None) -> str:
    """Cut ``text`` to at most ``limit`` characters, ending in TRUNCATION_MARKER if cut.

    ``None`` or a limit <= 0 means no limit.
    """
    if limit is None or limit <= 0 or len(text) <= limit:
        return text
    if limit <= len(TRUNCATION_MARKER):
        return text[:limit]
    return text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


def mask_text(text: Any, limit: int | None = None) -> str:
    """Free text (an exception message, a log line) with its secrets masked.

    With ``limit``, the result is at most ``limit`` characters. Masking runs on a
    bounded prefix (``limit`` plus a margin) before the cut, so a huge message costs
    little and a secret straddling the cut is masked before it is cut.
    """
    try:
        text = to_text(text)
        if limit is not None and limit > 0 and len(text) > limit:
            text = text[: limit + max(limit, 4096)]
        if not _may_need_masking(text):
            return truncate(text, limit)
        text = _HEADER_LINE_RE.sub(lambda m: f"{m.group(1)} {MASK}", text)
        text = _USERINFO_RE.sub(lambda m: f"{m.group(1)}{MASK}@", text)
        text = _FERNET_RE.sub(MASK, text)
        text = _HEX_TOKEN_RE.sub(lambda m: f"{m.group('lead')}{MASK}", text)
        text = _BEARER_RE.sub(lambda m: f"{m.group('lead')}{MASK}", text)
        text = _FLAG_RE.sub(_mask_flag, text)
        text = _mask_pairs(text, net=True)
        return truncate(text, limit)
    except Exception:  # noqa: BLE001 - scrubbing never breaks a fault report
        return "<unmaskable text>"


def _mask_query(query: str) -> str:
    """``a=1&token=x`` -> ``a=1&token=***``: each secret value masked, the rest kept."""
    if not query:
        return query
    out = []
    for sep_part in re.split(r"([&;])", query):
        if sep_part in ("&", ";") or "=" not in sep_part:
            out.append(sep_part)
            continue
        key, _eq, _value = sep_part.partition("=")
        out.append(f"{key}={MASK}" if is_secret_key(unquote_plus(key)) else sep_part)
    return "".join(out)


def mask_url(url: Any) -> str:
    """A URL with the userinfo password and secret query/fragment values masked.

    The URL's text is otherwise kept byte for byte (no re-encoding), so a consumer can
    still match it against routes. Anything that does not parse is masked as text.
    """
    try:
        url = to_text(url)
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _at, hostport = netloc.rpartition("@")
            if ":" in userinfo:
                userinfo = userinfo.partition(":")[0] + ":" + MASK
            netloc = f"{userinfo}@{hostport}"
        path = _mask_pairs(parts.path)
        return urlunsplit(
            (parts.scheme, netloc, path, _mask_query(parts.query), _mask_query(parts.fragment))
        )
    except Exception:  # noqa: BLE001 - an unparsable URL is still masked, as text
        return mask_text(url)
