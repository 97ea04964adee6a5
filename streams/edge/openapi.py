"""The gateway's OpenAPI 3.1 document, committed as ``schemas/openapi.json``: FastAPI's
own, with the event contracts the routes read raw (as sent) and the problem bodies."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from schemas import ChildRecord, PoliceIncident
from streams.edge.bodies import AcknowledgementRequest, ProblemBody, WebhookRequest

BODIES: tuple[type[BaseModel], ...] = (
    PoliceIncident,
    ChildRecord,
    AcknowledgementRequest,
    WebhookRequest,
    ProblemBody,
)


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """A route's request body in the document: the route reads it raw, as sent."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        },
        "x-frontdoor-body-model": model.__name__,
    }


def document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    made = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = made.setdefault("components", {}).setdefault("schemas", {})
    for model in BODIES:
        schema = model.model_json_schema(
            ref_template="#/components/schemas/{model}", mode="validation"
        )
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    for path in made["paths"].values():
        for operation in path.values():
            operation.pop("x-frontdoor-body-model", None)
    made.setdefault("components", {})["securitySchemes"] = {
        "apiKey": {"type": "http", "scheme": "bearer", "description": "fdk_ API key"}
    }
    made["security"] = [{"apiKey": []}]
    app.openapi_schema = made
    return made
