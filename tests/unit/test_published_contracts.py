"""The committed JSON Schema and AsyncAPI files: in step with the models, and usable."""

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from streams import topics
from streams.tools.generators import contracts
from tests import factories


def test_committed_contract_files_match_the_models() -> None:
    stale = contracts.stale()
    assert stale == [], f"run `frontdoor contracts write`; out of date: {stale}"


def test_drift_is_detected_when_a_generated_file_differs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(contracts, "JSONSCHEMA_DIR", tmp_path)
    monkeypatch.setattr(contracts, "ASYNCAPI_FILE", tmp_path / "asyncapi.yaml")
    written = contracts.write()
    assert contracts.stale() == []
    schema = json.loads(written[0].read_text())
    schema["required"].remove("event_id")
    written[0].write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    assert contracts.stale() == [written[0]]


def _schema(name: str) -> dict[str, Any]:
    model = contracts.EVENTS[name]
    path = contracts.JSONSCHEMA_DIR / f"{name}.v{model.SCHEMA_MAJOR}.schema.json"  # type: ignore[attr-defined]
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", sorted(contracts.EVENTS))
def test_each_json_schema_is_valid_draft_2020_12_and_accepts_the_valid_example(name: str) -> None:
    schema = _schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(factories.example(name))


@pytest.mark.parametrize("name", sorted(contracts.EVENTS))
def test_each_json_schema_rejects_an_event_without_its_envelope(name: str) -> None:
    data = factories.example(name)
    del data["source"]
    errors = list(jsonschema.Draft202012Validator(_schema(name)).iter_errors(data))
    assert any("'source' is a required property" in e.message for e in errors)


def test_a_publisher_can_catch_a_wrong_enum_value_before_sending() -> None:
    data = factories.incident(incident_type="burglary")
    with pytest.raises(jsonschema.ValidationError, match="burglary"):
        jsonschema.validate(data, _schema("police-incident"))


def _resolve(document: dict[str, Any], ref: str, base: Path) -> Any:
    target, _, pointer = ref.partition("#")
    node: Any = json.loads((base / target).read_text()) if target else document
    for part in [p for p in pointer.split("/") if p]:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_asyncapi_document_parses_and_every_reference_resolves() -> None:
    document = yaml.safe_load(contracts.ASYNCAPI_FILE.read_text())
    assert document["asyncapi"].startswith("3.")
    refs = _refs(document)
    assert len(refs) > 2 * len(topics.ALL)
    for ref in refs:
        assert _resolve(document, ref, contracts.ASYNCAPI_FILE.parent) is not None, ref


def test_asyncapi_describes_every_topic_with_key_schema_publishers_and_consumers() -> None:
    document = yaml.safe_load(contracts.ASYNCAPI_FILE.read_text())
    channels = {c["address"]: c for c in document["channels"].values()}
    assert set(channels) == {spec.name for spec in contracts.documented_topics()}
    assert "police.{force}.incidents.v1" in channels
    for spec in contracts.documented_topics():
        channel = channels[spec.name]
        assert channel["x-publishers"] and channel["x-consumers"]
        (message_ref,) = [m["$ref"] for m in channel["messages"].values()]
        message = _resolve(document, message_ref, contracts.ASYNCAPI_FILE.parent)
        assert message["bindings"]["kafka"]["key"]["description"] == spec.key
        payload_ref = message["payload"]["schema"]["$ref"]
        payload = _resolve(document, payload_ref, contracts.ASYNCAPI_FILE.parent)
        assert payload["title"] == spec.message.__name__
    for operation in document["operations"].values():
        assert operation["action"] in {"send", "receive"}
        assert _resolve(document, operation["channel"]["$ref"], contracts.ASYNCAPI_FILE.parent)


def test_the_child_records_topic_is_compacted() -> None:
    assert topics.CHILD_RECORDS.config["cleanup.policy"] == "compact"
