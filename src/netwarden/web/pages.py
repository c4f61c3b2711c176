"""The dashboard (/), the IPAM view (/ipam), the audit log (/audit) and the not-yet-built sections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.errors import PermissionDenied
from netwarden.inventory import service
from netwarden.inventory.schemas import DeviceFilter
from netwarden.web.alerts import link_ends
from netwarden.web.common import NAV, NavItem, PageRoute, get_ctx, page_actor, page_links, render
from netwarden.web.devices import STATUSES
from netwarden.web.status import status

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PageActor = Annotated[Actor, Depends(page_actor)]
Text = Annotated[str, Query(max_length=128)]
AUDIT_PAGE = 50
PREFIX_LIMIT = 2000


def _prefix_lister() -> Callable[..., Any] | None:
    """The IPAM service's list_prefixes, or None while the IPAM service is not installed."""
    lister = getattr(service, "list_prefixes", None)
    return lister if callable(lister) else None


def _count_prefixes(db: Session, actor: Actor) -> int | None:
    lister = _prefix_lister()
    if lister is None:
        return None
    return int(lister(db, actor, limit=1).total)


@router.get("/")
def dashboard(request: Request, actor: PageActor) -> Response:
    """Monitoring (up/down, open alerts by severity, worst interfaces), then the inventory and (admins) audit."""
    monitoring = status(request, actor)
    with get_ctx(request).db() as db:
        sites = service.list_sites(db, actor, limit=12)
        by_status = {s: service.list_devices(db, actor, DeviceFilter(status=s), limit=1).total for s in STATUSES}
        counts = {
            "sites": sites.total,
            "devices": service.list_devices(db, actor, None, limit=1).total,
            "interfaces": service.list_interfaces(db, actor, limit=1).total,
            "prefixes": _count_prefixes(db, actor),
        }
        recent = audit.list_entries(db, actor, limit=10)[0] if actor.can(Role.admin) else []
    return render(
        request,
        "dashboard.html",
        counts=counts,
        by_status=by_status,
        sites=sites.items,
        recent=recent,
        mon=monitoring,
        link_ends=link_ends,
        active="dashboard",
        title="Dashboard",
    )


@router.get("/ipam")
def ipam_page(
    request: Request,
    actor: PageActor,
    family: Annotated[Literal["", "4", "6"], Query()] = "",
    site: Text = "",
    q: Text = "",
) -> Response:
    """Prefixes as a tree (indented by depth) with a utilisation bar each."""
    lister = _prefix_lister()
    prefixes: list[Any] = []
    total = 0
    with get_ctx(request).db() as db:
        sites = [s.name for s in service.list_sites(db, actor, limit=10000).items]
        if lister is not None:
            result = lister(
                db,
                actor,
                family=int(family) if family else None,
                site=site or None,
                q=q.strip() or None,
                limit=PREFIX_LIMIT,
                offset=0,
            )
            prefixes, total = list(result.items), int(result.total)
    return render(
        request,
        "ipam.html",
        available=lister is not None,
        prefixes=prefixes,
        total=total,
        shown_limit=PREFIX_LIMIT,
        sites=sites,
        filters={"family": family, "site": site, "q": q},
        active="ipam",
        title="IPAM",
    )


@router.get("/audit")
def audit_page(
    request: Request,
    actor: PageActor,
    object_type: Text = "",
    object: Text = "",
    who: Text = "",
    action: Text = "",
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> Response:
    """The audit log, newest first (admins only: others get the 403 page)."""
    offset = (page - 1) * AUDIT_PAGE
    filters = {"object_type": object_type, "object": object, "who": who, "action": action}
    with get_ctx(request).db() as db:
        entries, total = audit.list_entries(
            db,
            actor,
            object_type=object_type or None,
            obj=object or None,
            who=who or None,
            action=action or None,
            limit=AUDIT_PAGE,
            offset=offset,
        )
    return render(
        request,
        "audit.html",
        entries=entries,
        filters=filters,
        paging=page_links(total, AUDIT_PAGE, offset, filters),
        active="audit",
        title="Audit log",
    )


def install_placeholders(app: FastAPI) -> None:
    """A calm 'coming later' page for each navigation entry whose capability has not landed.

    A capability that builds its page sets ``built=True`` on its NavItem (web/common.py)
    and includes its own router; these are registered last, so they never shadow a real page.
    """
    placeholders = APIRouter(route_class=PageRoute, include_in_schema=False)
    for item in NAV:
        if item.built:
            continue
        placeholders.add_api_route(item.path, _placeholder(item), methods=["GET"], name=f"soon_{item.key}")
    app.include_router(placeholders)


def _placeholder(item: NavItem) -> Callable[..., Response]:
    def page(request: Request, actor: PageActor) -> Response:
        if not actor.can(item.needs):
            raise PermissionDenied(f"{actor.name} ({actor.role.value}) may not open {item.label}: needs {item.needs}")
        return render(request, "soon.html", item=item, active=item.key, title=item.label)

    return page
