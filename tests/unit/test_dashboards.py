"""The committed Grafana dashboards are what the generator makes, and are well formed."""

import json

from streams.tools.generators import dashboards


def test_committed_dashboards_match_the_generator() -> None:
    assert dashboards.stale() == [], "run `frontdoor dashboards write`"


def test_every_panel_has_a_query_a_unique_id_and_a_place_on_the_grid() -> None:
    for path in dashboards.rendered():
        board = json.loads(path.read_text())
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in board["panels"]:
            assert (
                panel["gridPos"]["x"] >= 0 and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            )
            if panel["type"] != "row":
                assert panel["targets"] and all(t["expr"] for t in panel["targets"])
                assert panel["datasource"]["uid"] == "prometheus"


def test_the_duty_manager_sees_the_five_things_first() -> None:
    titles = [p.title for p in dashboards.DUTY.panels()]
    for wanted in (
        "due in the next 4 hours",
        "Missed today",
        "Late today",
        "Police report delay",
        "Oldest pending",
        "awaiting review",
    ):
        assert any(wanted in t for t in titles), wanted


def test_queries_only_use_frontdoor_metrics() -> None:
    for _, expr in dashboards.queries():
        assert "frontdoor_" in expr
