"""Generates the published contracts from the models: JSON Schema per event, AsyncAPI 3
for the topics, OpenAPI 3.1 for the HTTPS gateway.

The generated files are committed (``schemas/jsonschema/``, ``schemas/asyncapi.yaml``,
``schemas/openapi.json``);
``frontdoor contracts check`` and a test fail when a model and its files drift apart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from schemas import (
    Acknowledgement,
    AuditRecord,
    ChildRecord,
    ComplianceAlert,
    DeadLetter,
    InboxActivity,
    Notification,
    PoliceIncident,
    PossibleMatch,
    ReviewDecision,
    StrategyMeeting,
    WebhookRegistration,
)
from streams import topics
from streams.edge import published_openapi
from streams.tools.generators.generated import stale_files, write_files
from streams.topics import (
    ChildrenNotified,
    DeadlineCommands,
    RematchRequest,
    SequencesObserved,
)

SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "schemas"
JSONSCHEMA_DIR = SCHEMAS_DIR / "jsonschema"
ASYNCAPI_FILE = SCHEMAS_DIR / "asyncapi.yaml"
OPENAPI_FILE = SCHEMAS_DIR / "openapi.json"  # the HTTPS gateway's (streams.edge)
BASE_URI = "https://frontdoor.example/schemas/"

EVENTS: dict[str, type[BaseModel]] = {
    "police-incident": PoliceIncident,
    "child-record": ChildRecord,
    "notification": Notification,
    "acknowledgement": Acknowledgement,
    "compliance-alert": ComplianceAlert,
    "possible-match": PossibleMatch,
    "review-decision": ReviewDecision,
    "dead-letter": DeadLetter,
    "audit-record": AuditRecord,
    "strategy-meeting": StrategyMeeting,
}
# frontdoor's own internal topics: described too, but no one outside publishes to them.
INTERNAL: dict[str, type[BaseModel]] = {
    "rematch-request": RematchRequest,
    "children-notified": ChildrenNotified,
    "deadline-commands": DeadlineCommands,
    "sequences-observed": SequencesObserved,
    "webhook-registration": WebhookRegistration,
    "inbox-activity": InboxActivity,
}
MESSAGES = {**EVENTS, **INTERNAL}
_NAME_OF = {model: name for name, model in MESSAGES.items()}


def _file_name(name: str, model: type[BaseModel]) -> str:
    major = getattr(model, "SCHEMA_MAJOR", 1)
    return f"{name}.v{major}.schema.json"


def json_schema(name: str, model: type[BaseModel]) -> dict[str, Any]:
    # Inbound events are validated as publishers send them; outbound as frontdoor writes them.
    schema = model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_URI + _file_name(name, model),
        **schema,
    }


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_.]", name))


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in documented_topics():
        event = _NAME_OF[spec.message]
        message_id = _camel(event)
        messages[message_id] = {
            "name": message_id,
            "title": spec.message.__name__,
            "contentType": "application/json",
            "payload": {
                "schemaFormat": "application/schema+json;version=draft-2020-12",
                "schema": {"$ref": f"./jsonschema/{_file_name(event, spec.message)}"},
            },
            "bindings": {"kafka": {"key": {"type": "string", "description": spec.key}}},
        }
        channel_id = _camel(spec.name)
        channels[channel_id] = {
            "address": spec.name,
            "description": spec.description,
            "messages": {message_id: {"$ref": f"#/components/messages/{message_id}"}},
            "bindings": {
                "kafka": {
                    "topic": spec.name,
                    **({"partitions": spec.partitions} if spec.partitions else {}),
                    "topicConfiguration": _topic_config(spec),
                }
            },
            "x-publishers": list(spec.publishers),
            "x-consumers": list(spec.consumers),
        }
        if "{force}" in spec.name:
            channels[channel_id]["parameters"] = {
                "force": {
                    "description": "A force code of the deployment's policy "
                    "(signals.police_sources); only that force's principal may write here."
                }
            }
        frontdoor_sends = "frontdoor" in spec.publishers
        operations[f"{'send' if frontdoor_sends else 'receive'}{channel_id}"] = {
            "action": "send" if frontdoor_sends else "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{message_id}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "frontdoor",
            "version": "1.0.0",
            "description": "Safeguarding case notifications: the topics frontdoor reads and "
            "writes, their keys and message schemas. Generated by `frontdoor contracts write`.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka-secure",
                "description": "The local broker (`frontdoor kafka start`): SASL_SSL, one "
                "principal per party, ACLs from `frontdoor acl plan`; "
                "`frontdoor kafka credentials PRINCIPAL` prints a party's client settings.",
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": "SASL/SCRAM-SHA-512 over TLS; a principal per party.",
                }
            },
        },
    }


def documented_topics() -> tuple[topics.TopicSpec, ...]:
    """Every topic; a force's own, one channel with a ``{force}`` parameter."""
    return (topics.force_incidents("{force}"), *topics.ALL)


def _topic_config(spec: topics.TopicSpec) -> dict[str, Any]:
    # AsyncAPI's Kafka binding names a few configs; keep only those it defines.
    known = {"cleanup.policy", "retention.ms"}
    config: dict[str, Any] = {}
    for key, value in spec.config.items():
        if key in known:
            config[key] = [value] if key == "cleanup.policy" else int(value)
    return config


def rendered() -> dict[Path, str]:
    """Every generated file and its exact text."""
    files = {
        JSONSCHEMA_DIR / _file_name(name, model): json.dumps(
            json_schema(name, model), indent=2, sort_keys=True
        )
        + "\n"
        for name, model in MESSAGES.items()
    }
    files[ASYNCAPI_FILE] = "# Generated by `frontdoor contracts write`; do not edit.\n" + yaml.dump(
        asyncapi(), sort_keys=False, allow_unicode=True, width=100
    )
    files[OPENAPI_FILE] = json.dumps(published_openapi(), indent=2, sort_keys=True) + "\n"
    return files


def write() -> list[Path]:
    return write_files(rendered())


def stale() -> list[Path]:
    """Generated files whose committed text differs from what the models give now."""
    return stale_files(rendered())
