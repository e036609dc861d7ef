"""Controller bases per audience: the credential Authentication checks (`opt["audience"]`), the OpenAPI security
scheme that documents it, and the tag, declared once so the check and its documentation cannot disagree."""

from __future__ import annotations

from litestar import Controller

from entrypoints.http.auth import ADMIN, SHOPPER
from entrypoints.http.dependencies import after_shopper


class AdminController(Controller):
    opt = {"audience": ADMIN}
    security = [{"admin": []}]
    tags = ["admin"]


class ShopperController(Controller):
    opt = {"audience": SHOPPER}
    security = [{"shopper": []}]
    tags = ["shopper"]
    dependencies = after_shopper()  # every handler takes the shopper: use cases are provided after it
