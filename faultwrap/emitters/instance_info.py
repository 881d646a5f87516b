"""The instance part of ``compute.instance.*`` payloads (Nova's ``info_from_instance``).

Read from the caller's instance (a dict or any object with attributes; every read is
optional and a missing value gives Nova's null for that key):

``uuid`` (else ``id``), ``project_id`` (else ``tenant_id``), ``user_id``,
``display_name``, ``reservation_id``, ``hostname``, ``flavor`` (dict or object with
``name``, ``id``, ``flavorid``, ``memory_mb``, ``vcpus``, ``root_gb``, ``ephemeral_gb``;
each falls back to the instance's own ``instance_type``, ``instance_type_id``,
``instance_flavor_id``, ``memory_mb``, ``vcpus``, ``root_gb``, ``ephemeral_gb``),
``architecture``, ``host``, ``node``, ``availability_zone``, ``cell_name``,
``created_at``, ``terminated_at``, ``deleted_at``, ``launched_at``, ``image_ref_url``
(else ``image_ref``, made a URL with the image service's base URL when one is known),
``os_type``, ``kernel_id``, ``ramdisk_id``, ``vm_state``,
``task_state``, ``progress``, ``access_ip_v4``, ``access_ip_v6``, ``system_metadata``
(its ``image_*`` keys become ``image_meta``), ``metadata``, ``bandwidth`` and
``network_info`` (else ``info_cache.network_info``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from faultwrap import notifier as fw_notifier
from faultwrap import scrub
from faultwrap.emitters.values import (
    MISSING,
    as_int,
    as_mapping,
    field,
    first_field,
    mask_secrets,
    timestamp,
)

#: The family of these payloads in ``values.LEGACY_TIMESTAMPS``.
FAMILY = "compute.instance"

#: Every key :func:`info_from_instance` returns (``fixed_ips`` only with network info).
INSTANCE_INFO_KEYS = (
    "tenant_id", "user_id",
    "instance_id", "display_name", "reservation_id", "hostname",
    "instance_type", "instance_type_id", "instance_flavor_id", "architecture",
    "memory_mb", "disk_gb", "vcpus", "root_gb", "ephemeral_gb",
    "host", "node", "availability_zone", "cell_name",
    "created_at", "terminated_at", "deleted_at", "launched_at",
    "image_ref_url", "os_type", "kernel_id", "ramdisk_id",
    "state", "state_description", "progress",
    "access_ip_v4", "access_ip_v6",
    "image_meta", "metadata",
)  # fmt: skip


def _flavor_value(instance: Any, flavor: Any, name: str, fallback: str) -> Any:
    value = field(flavor, name, MISSING)
    if value is MISSING or value is None:
        value = field(instance, fallback)
    return value


def _text_or_empty(value: Any) -> str:
    """Nova's ``null_safe_str``: None becomes ``''``."""
    return "" if value is None else scrub.to_text(value)


def image_meta(system_metadata: Any) -> dict[str, Any]:
    """The ``image_*`` keys of an instance's system metadata, prefix stripped, masked."""
    return mask_secrets({
        key[len("image_"):]: value
        for key, value in as_mapping(system_metadata).items()
        if isinstance(key, str) and key.startswith("image_")
    })


def _ip_version(address: Any) -> int | None:
    try:
        return ipaddress.ip_address(str(address)).version
    except ValueError:
        return None


def _ip_entry(ip: Any, kind: str) -> dict[str, Any]:
    """One address in Nova's network model shape."""
    if isinstance(ip, str):
        address, version, meta = ip, None, {}
    else:
        address = field(ip, "address")
        version = as_int(field(ip, "version"))
        meta = as_mapping(field(ip, "meta"))
    return {
        "address": address,
        "type": kind if isinstance(ip, str) else (field(ip, "type") or kind),
        "version": version or _ip_version(address),
        "meta": meta,
    }


def fixed_ips(network_info: Any) -> list[dict[str, Any]]:
    """Nova's payload ``fixed_ips`` from a network_info list of VIFs.

    Each VIF (dict or object) has ``address`` (the MAC), ``network.label`` and
    ``network.subnets[].ips[]``; each IP has ``address``, ``type``, ``version``,
    ``meta`` and ``floating_ips`` (addresses or dicts). Every fixed IP becomes a dict
    with those keys plus ``label`` and ``vif_mac``; malformed entries are skipped.
    """
    result: list[dict[str, Any]] = []
    if not isinstance(network_info, Iterable) or isinstance(network_info, (str, bytes, Mapping)):
        return result
    for vif in network_info:
        network = field(vif, "network")
        subnets = field(network, "subnets") or ()
        for subnet in subnets if isinstance(subnets, Iterable) else ():
            ips = field(subnet, "ips") or ()
            for ip in ips if isinstance(ips, Iterable) else ():
                if field(ip, "type", "fixed") not in ("fixed", None):
                    continue
                entry = _ip_entry(ip, "fixed")
                if entry["address"] is None:
                    continue
                floating = field(ip, "floating_ips") or ()
                entry["floating_ips"] = [
                    _ip_entry(f, "floating")
                    for f in (floating if isinstance(floating, Iterable) else ())
                    if isinstance(f, str) or field(f, "address") is not None
                ]
                entry["label"] = field(network, "label")
                entry["vif_mac"] = field(vif, "address")
                result.append(entry)
    return result


def instance_network_info(instance: Any) -> Any:
    """The instance's own network info (``network_info`` or ``info_cache.network_info``)."""
    own = field(instance, "network_info")
    if own is not None:
        return own
    return field(field(instance, "info_cache"), "network_info")


def bandwidth(instance: Any) -> dict[str, dict[str, int]]:
    """``{label: {"bw_in": int, "bw_out": int}}`` from the instance's ``bandwidth``.

    Nova read this from its bandwidth usage table; here the caller supplies it.
    Entries that are not mappings are skipped; missing counters count as 0.
    """
    result = {}
    for label, usage in as_mapping(field(instance, "bandwidth")).items():
        if not isinstance(usage, Mapping):
            continue
        result[str(label)] = {
            "bw_in": as_int(usage.get("bw_in"), 0),
            "bw_out": as_int(usage.get("bw_out"), 0),
        }
    return result


#: A version at the end of an image endpoint: Nova strips it (``/v2``, ``/v2.1/``).
_VERSION_SUFFIX = re.compile(r"/v\d+(\.\d+)?/?$")


def image_ref_url(image_ref: Any, image_service_url: str | None = None) -> str:
    """Nova's ``image_ref_url``: ``<image service URL>/images/<image id>``.

    As Nova's ``glance.API.generate_image_url`` with the version suffix stripped
    from the endpoint (Nova leaves ``//images`` after a catalog URL ending in
    ``/v2``; we do not). Without a base URL it is the bare image id, as Nova sends
    when it cannot find Glance. A ref that already is a URL is kept. Credentials in
    either URL are masked.
    """
    ref = "" if image_ref is None else scrub.to_text(image_ref)
    if image_service_url and "://" not in ref:
        base = _VERSION_SUFFIX.sub("", scrub.to_text(image_service_url).strip()).rstrip("/")
        ref = f"{base}/images/{ref}"
    return scrub.mask_url(ref) if ref else ""


def configured_image_service_url(conf: Any) -> str | None:
    """``[notifications] image_service_url``, or None when unset or unreadable (an
    emitter never fails on it: image_ref_url is then the bare id)."""
    value = fw_notifier.get_core(conf).settings.image_service_url
    return value if isinstance(value, str) and value.strip() else None


def info_from_instance(
    instance: Any,
    network_info: Any = None,
    *,
    image_service_url: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The legacy instance payload; ``overrides`` replace keys at the end.

    ``fixed_ips`` is present only when ``network_info`` is given (not None), as in
    Nova. Timestamps are written as Nova writes each (``LEGACY_TIMESTAMPS``), ``''``
    when unset. ``image_service_url`` makes ``image_ref_url`` a URL (see
    :func:`image_ref_url`).
    """
    flavor = field(instance, "flavor")
    root_gb = as_int(_flavor_value(instance, flavor, "root_gb", "root_gb"), 0)
    ephemeral_gb = as_int(_flavor_value(instance, flavor, "ephemeral_gb", "ephemeral_gb"), 0)
    progress = as_int(field(instance, "progress"))
    info = {
        "tenant_id": first_field(instance, ("project_id", "tenant_id")),
        "user_id": field(instance, "user_id"),
        "instance_id": first_field(instance, ("uuid", "id")),
        "display_name": field(instance, "display_name"),
        "reservation_id": field(instance, "reservation_id"),
        "hostname": field(instance, "hostname"),
        "instance_type": _flavor_value(instance, flavor, "name", "instance_type"),
        "instance_type_id": _flavor_value(instance, flavor, "id", "instance_type_id"),
        "instance_flavor_id": _flavor_value(instance, flavor, "flavorid", "instance_flavor_id"),
        "architecture": field(instance, "architecture"),
        "memory_mb": as_int(_flavor_value(instance, flavor, "memory_mb", "memory_mb")),
        # root + ephemeral: redundant, kept because consumers of Nova read it.
        "disk_gb": root_gb + ephemeral_gb,
        "vcpus": as_int(_flavor_value(instance, flavor, "vcpus", "vcpus")),
        "root_gb": root_gb,
        "ephemeral_gb": ephemeral_gb,
        "host": field(instance, "host"),
        "node": field(instance, "node"),
        "availability_zone": field(instance, "availability_zone"),
        "cell_name": _text_or_empty(field(instance, "cell_name")),
        "created_at": timestamp(FAMILY, "created_at", field(instance, "created_at")),
        "terminated_at": timestamp(FAMILY, "terminated_at", field(instance, "terminated_at")),
        "deleted_at": timestamp(FAMILY, "deleted_at", field(instance, "deleted_at")),
        "launched_at": timestamp(FAMILY, "launched_at", field(instance, "launched_at")),
        "image_ref_url": image_ref_url(
            first_field(instance, ("image_ref_url", "image_ref")), image_service_url
        ),
        "os_type": field(instance, "os_type"),
        "kernel_id": field(instance, "kernel_id"),
        "ramdisk_id": field(instance, "ramdisk_id"),
        "state": field(instance, "vm_state"),
        "state_description": _text_or_empty(field(instance, "task_state")),
        # Nova's legacy quirk, kept for its consumers: no progress is '' rather than 0.
        "progress": progress if progress else "",
        "access_ip_v4": field(instance, "access_ip_v4"),
        "access_ip_v6": field(instance, "access_ip_v6"),
        "image_meta": image_meta(field(instance, "system_metadata")),
        # Masked like image properties: users put credentials in metadata too.
        "metadata": mask_secrets(as_mapping(field(instance, "metadata"))),
    }
    if network_info is not None:
        info["fixed_ips"] = fixed_ips(network_info)
    info.update(overrides)
    return info
