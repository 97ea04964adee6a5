"""Prometheus rules and Alertmanager routing, checked by the real promtool and amtool."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"
RULES_TEST = DEPLOY / "prometheus" / "rules_test.yml"
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: `make test` installs it (Debian: prometheus, "
            "prometheus-alertmanager)"
        )
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    checked = run(tool("promtool"), "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for name in ("prometheus.yml", "prometheus.compose.yml"):
        config = run(tool("promtool"), "check", "config", str(DEPLOY / "prometheus" / name))
        assert config.returncode == 0, config.stdout + config.stderr


def test_promtool_rule_unit_tests_pass() -> None:
    tested = run(tool("promtool"), "test", "rules", str(RULES_TEST))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def test_every_alert_has_a_firing_a_quiet_and_a_just_under_for_case() -> None:
    cases: dict[str, list[bool]] = {}
    for test in yaml.safe_load(RULES_TEST.read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], []).append(bool(case["exp_alerts"]))
    for rule in _alerts():
        name = str(rule["alert"])
        assert True in cases.get(name, []), f"{name} has no firing case"
        if name != "Watchdog":  # always firing and has no `for:`
            assert cases[name].count(False) >= 2, f"{name} needs a quiet and a just-under case"


def test_annotations_use_only_closed_list_labels_and_numbers() -> None:
    allowed = {"agency", "rule", "force", "topic", "party", "agent"}
    for rule in _alerts():
        for text in dict(rule.get("annotations", {})).values():  # type: ignore[call-overload]
            used = set(re.findall(r"\$labels\.(\w+)", str(text)))
            assert used <= allowed, f"{rule['alert']} annotation uses {used - allowed}"


def test_alertmanager_config_is_valid() -> None:
    checked = run(tool("amtool"), "check-config", str(ALERTMANAGER))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=Watchdog", "severity=none"], "watchdog"),
        (["alertname=FrontdoorPipelineStalled", "severity=page"], "on-call"),
        (
            ["alertname=FrontdoorOldestPendingPastDeadline", "severity=page", "agency=school"],
            "on-call",
        ),
        (["alertname=FrontdoorDeadLetterGrowth", "severity=warning"], "on-call"),
        (["alertname=FrontdoorBatchUnsettled", "severity=page"], "on-call"),
        (["alertname=FrontdoorProcessingErrors", "severity=page"], "on-call"),
        (
            ["alertname=FrontdoorNotificationMissed", "severity=compliance", "agency=school"],
            "compliance",
        ),
        (["alertname=FrontdoorSequenceGap", "severity=compliance", "force=MPS"], "compliance"),
        (["alertname=Unexpected"], "compliance"),
    ],
)
def test_alerts_are_routed_to_the_right_receiver(labels: list[str], receiver: str) -> None:
    routed = run(
        tool("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER}",
        f"--verify.receivers={receiver}",
        *labels,
    )
    assert routed.returncode == 0, routed.stdout + routed.stderr
    assert routed.stdout.strip() == receiver
