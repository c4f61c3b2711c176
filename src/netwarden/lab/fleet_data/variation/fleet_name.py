"""snmpsim variation module: each simulated device answers sysName with its own name.

Every endpoint of one simulator engine shares one recording, so without this all
devices of a kind would report the recorded sysName and look like one device to
discovery. snmpsim runs this file with ``exec`` (it is not imported by netwarden):
``init`` gets the path of a JSON file ``{transport id: name}`` through
``--variation-module-options=fleet_name:PATH``, and ``variate`` picks the name by the
transport ID of the endpoint the request arrived on (``--transport-id-offset``
makes those IDs unique across the fleet's processes). Records use it as
``OID|4:fleet_name|``.
"""

from __future__ import annotations

import json
from typing import Any

# snmpsim's exec() globals carry a moduleContext of their own; this one replaces it and is
# the one the functions below see.
moduleContext: dict[str, Any] = {}  # the name snmpsim gives it


def init(**context: Any) -> None:
    with open(str(context["options"])) as fh:
        names = json.load(fh)
    moduleContext["names"] = {int(key): str(value) for key, value in names.items()}


def variate(oid: Any, tag: str, value: Any, **context: Any) -> tuple[Any, str, Any]:
    if not context["nextFlag"] and not context["exactMatch"]:
        return context["origOid"], tag, context["errorStatus"]
    transport_id = int(context["transportDomain"][-1])
    names: dict[int, str] = moduleContext.get("names", {})
    return oid, tag, names.get(transport_id, value)


def shutdown(**context: Any) -> None:
    moduleContext.clear()
