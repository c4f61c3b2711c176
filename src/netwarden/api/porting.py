"""/api/v1/import (POST a YAML document) and /api/v1/export?format=yaml|ansible|json"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from netwarden.api.deps import CurrentActor, Db, get_ctx
from netwarden.errors import InvalidInput
from netwarden.inventory import formats, porting
from netwarden.inventory.document import InventoryDoc
from netwarden.inventory.porting import ImportResult

router = APIRouter(tags=["import/export"])
MAX_IMPORT_BYTES = 256 * 1024 * 1024


@router.post(
    "/import",
    openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}, "required": True}},
)
async def import_inventory(request: Request, db: Db, actor: CurrentActor) -> ImportResult:
    """Import a YAML (or JSON) inventory document, all or nothing."""
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise InvalidInput(f"the document is larger than {MAX_IMPORT_BYTES // 2**20} MiB; import it with the CLI")
    # Parsing and loading are CPU- and disk-bound: keep them off the event loop.
    doc = await run_in_threadpool(porting.parse_yaml, body)
    return await run_in_threadpool(porting.import_inventory, db, actor, get_ctx(request).vault, doc)


@router.get("/export", response_model=None)
def export_inventory(
    db: Db,
    actor: CurrentActor,
    fmt: Annotated[Literal["json", "yaml", "ansible"], Query(alias="format")] = "json",
) -> InventoryDoc | Response:
    """The whole inventory (never secrets): JSON document, YAML document or Ansible inventory."""
    doc = porting.export_inventory(db, actor)
    if fmt == "yaml":
        return Response(porting.dump_yaml(doc), media_type="application/yaml")
    if fmt == "ansible":
        return Response(formats.render_ansible(doc), media_type="application/yaml")
    return doc
