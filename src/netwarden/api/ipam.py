"""/api/v1 ipam routes: placeholder until its module lands."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ipam"])
