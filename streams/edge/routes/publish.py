"""A force publishes its incidents, the council its child records: each event as sent,
through the Kafka path's validator, onto the party's own topic, once per event id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from schemas import ChildRecord, PoliceIncident
from schemas.council import record_key
from schemas.envelope import KEY_PART_PATTERN
from schemas.police import incident_key
from streams import topics
from streams.access import Operation
from streams.edge import problems
from streams.edge.bodies import Accepted, Deleted
from streams.edge.deps import Allowed, Body, body, gateway, may
from streams.edge.openapi import json_body
from streams.edge.problems import BODY, CALLER, documented
from streams.edge.publishing import delivered, fingerprint, once
from streams.edge.publishing import publish as publish_record
from streams.edge.replies import Reply
from streams.incidents import foreign_incident

CHILD_ID = Path(pattern=KEY_PART_PATTERN, description="The council's own id for the child.")

router = APIRouter(tags=["publish"])

force_writes = may(
    Operation.WRITE,
    lambda party: topics.force_incidents(party.force) if party.force else None,
    "publish police incidents",
)
records_write = may(
    Operation.WRITE, lambda _: topics.CHILD_RECORDS, "publish council child records"
)
records_delete = may(
    Operation.WRITE, lambda _: topics.CHILD_RECORDS, "delete council child records"
)


@router.post(
    "/v1/incidents",
    status_code=202,
    response_model=Accepted,
    responses=documented(*CALLER, *BODY, 409, 503),
    openapi_extra=json_body(PoliceIncident),
)
async def publish_incident(
    request: Request,
    incident: Annotated[Body[PoliceIncident], Depends(body(PoliceIncident, force_writes))],
) -> JSONResponse:
    # On the key's force's own topic; an incident naming another force is refused.
    event, party = incident.event, incident.allowed.party
    foreign = foreign_incident(event, party.force or "")
    if foreign is not None:
        raise problems.forbidden(
            "the incident names another force than this key's", [foreign.model_dump()]
        )
    key = incident_key(event.source, event.incident_reference)
    return await _publish_once(request, incident, key, "incident")


@router.put(
    "/v1/child-records/{child_id}",
    status_code=202,
    response_model=Accepted,
    responses=documented(*CALLER, *BODY, 409, 503),
    openapi_extra=json_body(ChildRecord),
)
async def put_child_record(
    request: Request,
    child_id: Annotated[str, CHILD_ID],
    record: Annotated[Body[ChildRecord], Depends(body(ChildRecord, records_write))],
) -> JSONResponse:
    # The key's council's own record, at the path of its own child id.
    event = record.event
    if event.council_code != record.allowed.party.organisation:
        raise problems.forbidden("the record is another council's than this key's")
    if event.child_id != child_id:
        raise problems.invalid(
            "the record's child_id is not the one in the path",
            problems.reason("child_id", "path_mismatch", "child_id differs from the path"),
        )
    return await _publish_once(request, record, event.key, "child_record")


@router.delete(
    "/v1/child-records/{child_id}",
    status_code=202,
    response_model=Deleted,
    responses=documented(*CALLER, 422, 503),
)
async def delete_child_record(
    request: Request,
    child_id: Annotated[str, CHILD_ID],
    allowed: Annotated[Allowed, Depends(records_delete)],
) -> Deleted:
    # A tombstone for the key's council's record (a repeat is harmless).
    key = record_key(allowed.party.organisation, child_id)
    await publish_record(gateway(request), allowed.topic, key, None, "child_record_deletion")
    return Deleted(child_id=child_id)


async def _publish_once(
    request: Request, sent: Body[PoliceIncident] | Body[ChildRecord], key: str, kind: str
) -> JSONResponse:
    """The body as sent, once per (party, event id): a retry gets the first answer."""
    gw, event = gateway(request), sent.event

    async def attempt() -> Reply:
        await delivered(gw, sent.allowed.topic, key, sent.raw, kind)
        warnings = [{"field": w.field, "code": w.code.value} for w in event.data_quality]
        return Reply(202, Accepted(event_id=event.event_id, data_quality=warnings).model_dump())

    party = sent.allowed.party
    return await once(gw, party, event.event_id, fingerprint(sent.raw), attempt)
