"""/devices (list, live search, filters, add form) and /devices/{name}."""

from __future__ import annotations

from typing import Annotated, Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.errors import InvalidInput, NetwardenError
from netwarden.inventory import service
from netwarden.inventory.platforms import KNOWN_PLATFORMS
from netwarden.inventory.schemas import DeviceFilter, DeviceIn, DeviceStatus
from netwarden.web.alerts import alerts_for_device, link_ends
from netwarden.web.common import (
    PageRoute,
    check_csrf,
    get_ctx,
    is_htmx,
    page_actor,
    page_links,
    render,
    validation_message,
)
from netwarden.web.graphs import DEVICE_PANELS, RANGES, latest_by_interface

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
STATUSES: tuple[str, ...] = get_args(DeviceStatus)
PageActor = Annotated[Actor, Depends(page_actor)]
# Query text is capped so a pasted blob cannot become a giant LIKE pattern.
Text = Annotated[str, Query(max_length=128)]
FORM_FIELDS = ("name", "site", "platform", "mgmt_ip", "role", "status", "vendor", "model", "serial", "tags")


def _list_context(
    request: Request, actor: Actor, filters: dict[str, str], page: int, form: dict[str, str] | None = None
) -> dict[str, Any]:
    offset = (page - 1) * PAGE_SIZE
    with get_ctx(request).db() as db:
        result = service.list_devices(
            db, actor, DeviceFilter(**{k: (v or None) for k, v in filters.items()}), PAGE_SIZE, offset
        )
        sites = [s.name for s in service.list_sites(db, actor, limit=10000).items]
    return {
        "devices": result.items,
        "paging": page_links(result.total, PAGE_SIZE, offset, filters),
        "filters": filters,
        "sites": sites,
        "platforms": sorted(KNOWN_PLATFORMS),
        "statuses": STATUSES,
        "form": form or {"status": "active"},
        "can_add": actor.can(Role.admin),
        "active": "devices",
        "title": "Devices",
    }


@router.get("/devices")
def devices_page(
    request: Request,
    actor: PageActor,
    q: Text = "",
    site: Text = "",
    role: Text = "",
    platform: Text = "",
    status: Text = "",
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> Response:
    """The device table; an htmx request for the results gets only the table fragment."""
    filters = {"q": q.strip(), "site": site, "role": role.strip(), "platform": platform, "status": status}
    values = _list_context(request, actor, filters, page)
    if is_htmx(request) and request.headers.get("hx-target") == "device-results":
        return render(request, "_device_table.html", **values)
    return render(request, "devices.html", **values)


@router.post("/devices")
def add_device(
    request: Request,
    actor: PageActor,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    name: Annotated[str, Form(max_length=256)] = "",
    site: Annotated[str, Form(max_length=256)] = "",
    platform: Annotated[str, Form(max_length=64)] = "",
    mgmt_ip: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=64)] = "",
    status: Annotated[str, Form(max_length=32)] = "active",
    vendor: Annotated[str, Form(max_length=128)] = "",
    model: Annotated[str, Form(max_length=256)] = "",
    serial: Annotated[str, Form(max_length=256)] = "",
    tags: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    """Add a device from the form; a bad value re-shows the form with the message, nothing is written."""
    check_csrf(request, csrf_token)
    require(actor, Role.admin, "add devices")
    form = {
        "name": name,
        "site": site,
        "platform": platform,
        "mgmt_ip": mgmt_ip,
        "role": role,
        "status": status,
        "vendor": vendor,
        "model": model,
        "serial": serial,
        "tags": tags,
    }
    try:
        data = DeviceIn(
            name=name.strip(),
            site=site.strip(),
            platform=platform.strip(),
            mgmt_ip=mgmt_ip.strip() or None,
            role=role,
            status=status,
            vendor=vendor,
            model=model,
            serial=serial,
            tags=[t.strip() for t in tags.split(",") if t.strip()],
        )
        with get_ctx(request).db() as db:
            created = service.add_device(db, actor, data)
    except (ValidationError, NetwardenError) as exc:
        error = exc if isinstance(exc, NetwardenError) else InvalidInput(validation_message(exc))
        empty = {"q": "", "site": "", "role": "", "platform": "", "status": ""}
        values = _list_context(request, actor, empty, 1, form)
        return render(request, "devices.html", error.status, form_error=str(error), form_open=True, **values)
    return RedirectResponse(f"/devices/{quote(created.name, safe='')}", status_code=303)


@router.get("/devices/{name:path}")
def device_page(request: Request, actor: PageActor, name: str) -> Response:
    """One device: facts, tags, active alerts, graphs, interfaces with their addresses and latest traffic."""
    with get_ctx(request).db() as db:
        device = service.show_device(db, actor, name)
    return render(
        request,
        "device.html",
        device=device,
        alerts=alerts_for_device(request, actor, device.name),
        link_ends=link_ends,
        latest=latest_by_interface(request, actor, device.name),
        panels=DEVICE_PANELS,
        ranges=list(RANGES),
        active="devices",
        title=device.name,
    )
