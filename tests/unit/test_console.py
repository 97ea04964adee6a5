"""The console in-process: the real application, access plan, book, sessions, claims and
templates over a fake publisher, with sessions made directly and a real clock moved by
hand (sign-in through the real provider, and the real broker, are in tests/browser)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import httpx
import pytest

from schemas import ChildRecord
from schemas.enums import DeadlineClock
from streams.console import COOKIE, Console, ReviewBook, staff_from, staff_id
from streams.console.pairs import build as build_view
from streams.console.words import deadline, duration, time_left
from tests import factories
from tests.console_support import (
    NOW,
    ONE_PAIR_OF_EYES,
    POLICY,
    book_with_a_pair,
    build,
    client,
    records,
    sign_in,
)
from tests.factories import PERSONAL_VALUES

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def the_pair(console: Console) -> str:
    return next(iter(console.book.pairs))


async def through_check(
    http: httpx.AsyncClient, review: str, csrf: str, path: str, **form: str
) -> int:
    """Post a choice, then record it from the check page: the status the last step gave."""
    chosen = await http.post(f"/reviews/{review}/{path}", data={"csrf_token": csrf, **form})
    if chosen.status_code != 303:
        return chosen.status_code
    check = await http.get(f"/reviews/{review}/check")
    draft = re.search(r'name="draft" value="([^"]+)"', check.text)
    assert draft is not None, check.text[:500]
    done = await http.post(
        f"/reviews/{review}/check", data={"csrf_token": csrf, "draft": draft.group(1)}
    )
    return done.status_code


async def test_a_pair_is_decided_through_check_your_answers_and_published_once() -> None:
    console, publisher, _ = build(policy=ONE_PAIR_OF_EYES)
    cookie, csrf = sign_in(console, "reviewer")
    review = the_pair(console)
    async with client(console, cookie) as http:
        shown = await http.get(f"/reviews/{review}")
        assert shown.status_code == 200
        chosen = await http.post(
            f"/reviews/{review}/decision", data={"csrf_token": csrf, "decision": "candidate-1"}
        )
        assert chosen.status_code == 303 and chosen.headers["location"].endswith("/check")
        check = await http.get(f"/reviews/{review}/check")
        draft = re.search(r'name="draft" value="([^"]+)"', check.text)
        assert check.status_code == 200 and draft is not None
        assert "Check your decision" in check.text
        form = {"csrf_token": csrf, "draft": draft.group(1)}
        first = await http.post(f"/reviews/{review}/check", data=form)
        again = await http.post(f"/reviews/{review}/check", data=form)
    assert first.status_code == 303 and again.status_code == 409
    (decision,) = publisher.decisions()
    assert decision.decision == "confirm" and decision.record_id == "E09000030:C-100"
    assert decision.decided_by == "6f1c1d0e-0000-4000-8000-000000000001"
    assert decision.decided_at == NOW and decision.approved_by is None
    assert decision.evidence is not None
    assert decision.evidence.model_version == console.book.replica.matcher.model.version
    assert [c.record_id for c in decision.evidence.candidates] == [
        "E09000030:C-100",
        "E09000030:C-101",
    ]
    topic, key, _ = publisher.sent[0]
    assert (topic, key) == ("t.review.decisions.v1", "MPS:CAD-2026-000123")
    assert console.book.pairs[review].state == "settled"


async def test_a_confirmation_telling_a_school_is_proposed_then_approved_by_another() -> None:
    console, publisher, _ = build()
    review = the_pair(console)
    first_cookie, first_csrf = sign_in(console, "reviewer")

    async def decide(cookie: str, csrf: str, path: str, field: str, value: str) -> int:
        async with client(console, cookie) as http:
            chosen = await http.post(
                f"/reviews/{review}/{path}", data={"csrf_token": csrf, field: value}
            )
            if chosen.status_code != 303:
                return chosen.status_code
            check = await http.get(f"/reviews/{review}/check")
            draft = re.search(r'name="draft" value="([^"]+)"', check.text)
            assert draft is not None
            done = await http.post(
                f"/reviews/{review}/check", data={"csrf_token": csrf, "draft": draft.group(1)}
            )
            return done.status_code

    assert await decide(first_cookie, first_csrf, "decision", "decision", "candidate-1") == 303
    (proposal,) = publisher.decisions()
    assert (proposal.decision, proposal.record_id) == ("propose", "E09000030:C-100")
    assert console.book.pairs[review].state == "awaiting_approval"
    # Nobody approves their own decision, whatever they post.
    assert await decide(first_cookie, first_csrf, "approval", "approval", "approve") == 403
    console.claims.release(review, proposal.decided_by)

    second_cookie, second_csrf = sign_in(console, "second")
    assert await decide(second_cookie, second_csrf, "approval", "approval", "approve") == 303
    _, confirmation = publisher.decisions()
    assert confirmation.decision == "confirm"
    assert confirmation.decided_by == proposal.decided_by
    assert confirmation.approved_by == "6f1c1d0e-0000-4000-8000-000000000002"


async def test_a_second_reviewer_who_does_not_approve_returns_the_pair_as_not_sure() -> None:
    console, publisher, _ = build()
    review = the_pair(console)
    cookie, csrf = sign_in(console, "reviewer")
    async with client(console, cookie) as http:
        await http.post(
            f"/reviews/{review}/decision", data={"csrf_token": csrf, "decision": "candidate-2"}
        )
        check = await http.get(f"/reviews/{review}/check")
        draft = re.search(r'name="draft" value="([^"]+)"', check.text)
        assert draft
        await http.post(
            f"/reviews/{review}/check", data={"csrf_token": csrf, "draft": draft.group(1)}
        )
    second, second_csrf = sign_in(console, "second")
    async with client(console, second) as http:
        refused = await http.post(
            f"/reviews/{review}/approval",
            data={"csrf_token": second_csrf, "approval": "return", "note": "line\u0007bell"},
        )
        assert refused.status_code == 400 and "plain text" in refused.text
        await http.post(
            f"/reviews/{review}/approval",
            data={"csrf_token": second_csrf, "approval": "return", "note": "Twin? Ask school"},
        )
        check = await http.get(f"/reviews/{review}/check")
        draft = re.search(r'name="draft" value="([^"]+)"', check.text)
        assert draft
        await http.post(
            f"/reviews/{review}/check", data={"csrf_token": second_csrf, "draft": draft.group(1)}
        )
    _, returned = publisher.decisions()
    assert (returned.decision, returned.reason, returned.note) == (
        "unsure",
        "second_reviewer_disagreed",
        "Twin? Ask school",
    )
    assert console.book.pairs[review].state == "unsure"


async def test_a_broker_that_does_not_answer_keeps_the_draft_and_says_nothing_changed() -> None:
    console, publisher, _ = build(policy=ONE_PAIR_OF_EYES)
    publisher.failing = True
    review = the_pair(console)
    cookie, csrf = sign_in(console, "reviewer")
    async with client(console, cookie) as http:
        await http.post(
            f"/reviews/{review}/decision", data={"csrf_token": csrf, "decision": "none"}
        )
        check = await http.get(f"/reviews/{review}/check")
        draft = re.search(r'name="draft" value="([^"]+)"', check.text)
        assert draft
        form = {"csrf_token": csrf, "draft": draft.group(1)}
        failed = await http.post(f"/reviews/{review}/check", data=form)
        assert failed.status_code == 503 and "Nothing has changed" in failed.text
        publisher.failing = False
        retried = await http.post(f"/reviews/{review}/check", data=form)
    assert retried.status_code == 303
    assert [d.decision for d in publisher.decisions()] == ["reject"]


async def test_a_post_without_its_csrf_token_or_with_another_sessions_is_refused() -> None:
    console, publisher, _ = build()
    review = the_pair(console)
    cookie, _ = sign_in(console, "reviewer")
    _, other_csrf = sign_in(console, "second")
    async with client(console, cookie) as http:
        missing = await http.post(f"/reviews/{review}/decision", data={"decision": "none"})
        stolen = await http.post(
            f"/reviews/{review}/decision", data={"decision": "none", "csrf_token": other_csrf}
        )
    assert missing.status_code == stolen.status_code == 403
    assert publisher.sent == []
    assert (
        console.metrics.registry.get_sample_value(
            "frontdoor_console_refused_total", {"why": "csrf"}
        )
        == 2.0
    )


async def test_a_session_ends_when_idle_and_at_its_lifetime_and_a_forged_one_never_begins() -> None:
    console, _, clock = build(session_idle_s=900, session_max_s=3600)
    review = the_pair(console)
    cookie, _ = sign_in(console, "reviewer")
    async with client(console, cookie) as http:
        assert (await http.get("/reviews")).status_code == 200
        clock.now += 901
        idle = await http.get("/reviews")
    assert idle.status_code == 401 and "15 minutes without using the console" in idle.text
    assert COOKIE not in idle.headers.get("set-cookie", "")  # kept: it still says why
    async with client(console, cookie) as http:
        clock.now += 600  # another tab, later: told the same, not asked to sign in afresh
        again = await http.get("/reviews")
        clock.now += 301  # remembered as ended for the idle time only; then unknown
        later = await http.get("/reviews")
    assert again.status_code == 401 and "15 minutes without using the console" in again.text
    assert later.status_code == 401 and "You need to sign in" in later.text
    assert COOKIE in later.headers.get("set-cookie", "")  # deleted

    cookie, _ = sign_in(console, "reviewer")
    async with client(console, cookie) as http:
        for _ in range(4):  # busy all along: never idle
            clock.now += 800
            assert (await http.get(f"/reviews/{review}")).status_code == 200
        clock.now += 800
        # the lifetime ends on a request for a stylesheet (or the duty board's refresh):
        # the page asked for next still says why, not "You need to sign in"
        await http.get("/static/console.css")
        answer = await http.get(f"/reviews/{review}")
    assert answer.status_code == 401 and "signed in a long time ago" in answer.text

    async with client(console, "forged-" + "x" * 40) as http:
        forged = await http.get("/reviews")
        posted = await http.post(f"/reviews/{review}/decision", data={"decision": "none"})
    assert forged.status_code == 401 and "You need to sign in" in forged.text
    assert posted.status_code == 401


async def test_every_page_is_no_store_with_a_nonce_csp_and_no_personal_value_in_title_or_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    console, _, _ = build()
    review = the_pair(console)
    cookie, _ = sign_in(console, "reviewer")
    caplog.set_level(logging.DEBUG)
    async with client(console, cookie) as http:
        pages = [await http.get(p) for p in ("/", "/reviews", f"/reviews/{review}", "/nowhere")]
    for page in pages:
        csp = page.headers["content-security-policy"]
        nonce = re.search(r"'nonce-([^']+)'", csp)
        assert page.headers["cache-control"] == "no-store"
        assert nonce and f'nonce="{nonce.group(1)}"' in page.text
        assert "frame-ancestors 'none'" in csp and page.headers["x-frame-options"] == "DENY"
        title = re.search(r"<title[^>]*>(.*?)</title>", page.text, re.S)
        assert title and not any(v in title.group(1) for v in PERSONAL_VALUES)
    assert "Zebedee" in pages[2].text  # the page itself shows the child, as it must
    assert pages[3].status_code == 404
    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("frontdoor.console")
    )
    assert "GET /reviews/{review_id} 200" in logged  # the route template
    assert review not in logged and not any(v in logged for v in PERSONAL_VALUES)
    assert "Priya Shah" not in logged


async def test_a_role_that_may_not_review_is_refused_and_sees_no_review_pages() -> None:
    console, publisher, _ = build()
    review = the_pair(console)
    cookie, csrf = sign_in(console, "lead")
    async with client(console, cookie) as http:
        home = await http.get("/")
        queue = await http.get("/reviews")
        posted = await http.post(
            f"/reviews/{review}/decision", data={"csrf_token": csrf, "decision": "none"}
        )
    assert home.status_code == 200 and "Possible matches" not in home.text
    assert queue.status_code == posted.status_code == 403
    assert publisher.sent == []


async def test_the_duty_manager_reads_the_queue_and_a_pair_but_decides_nothing() -> None:
    # The access plan lets the duty board's party read the possible matches, not decide.
    console, publisher, _ = build(claim_s=600)
    review = the_pair(console)
    cookie, csrf = sign_in(console, "manager")
    async with client(console, cookie) as http:
        queue = await http.get("/reviews")
        shown = await http.get(f"/reviews/{review}")
        posted = await http.post(
            f"/reviews/{review}/decision", data={"csrf_token": csrf, "decision": "none"}
        )
    assert queue.status_code == shown.status_code == 200 and review in queue.text
    assert 'id="decide"' not in shown.text and posted.status_code == 403
    reviewer, _ = sign_in(console, "reviewer")
    async with client(console, reviewer) as http:
        theirs = await http.get(f"/reviews/{review}")
    assert 'id="decide"' in theirs.text, "a reader's visit claimed the pair"
    assert publisher.sent == []


async def test_a_pair_opened_by_one_reviewer_is_theirs_until_they_leave_it_or_it_lapses() -> None:
    console, publisher, clock = build(claim_s=600)
    review = the_pair(console)
    first, _ = sign_in(console, "reviewer")
    second, second_csrf = sign_in(console, "second")
    async with client(console, first) as http:
        await http.get(f"/reviews/{review}")
    async with client(console, second) as http:
        shown = await http.get(f"/reviews/{review}")
        posted = await http.post(
            f"/reviews/{review}/decision", data={"csrf_token": second_csrf, "decision": "none"}
        )
        assert "Being reviewed by Priya Shah" in shown.text and 'id="decide"' not in shown.text
        assert posted.status_code == 409
        clock.now += 601  # the first reviewer went home
        lapsed = await http.get(f"/reviews/{review}")
    assert 'id="decide"' in lapsed.text and publisher.sent == []


def test_the_queue_is_ordered_by_what_each_pair_holds_back_then_its_own_deadline() -> None:
    book, first = book_with_a_pair()
    # The same child in a later incident, reported a day later: what it holds back is due later.
    from schemas import PoliceIncident
    from schemas.police import incident_key
    from streams.incidents import process_incident
    from streams.matching import Replica

    data = factories.incident(
        incident_reference="CAD-LATER",
        risk_grade="medium",
        occurred_at="2026-11-26T20:00:00+00:00",
        reported_at="2026-11-26T21:00:00+00:00",
    )
    data["children"][0]["nhs_number"] = None
    later = PoliceIncident.model_validate(data)
    replica = Replica()
    for record in records():
        replica.upsert(record)
    key = incident_key(later.source, later.incident_reference)
    book.incident(key, later, NOW)
    for outcome in process_incident(later, replica, POLICY, POLICY.calendar(), NOW):
        if outcome.review is not None:
            book.possible_match(key, outcome.review.model_copy(update={"decide_by": NOW}))
    # A pair that holds nothing back (its incident not read yet) comes after both, however
    # overdue its own review.
    idle = book.pairs[first].match.model_copy(
        update={"review_id": "rev-idle", "decide_by": NOW - timedelta(days=1)}
    )
    book.possible_match("MPS:CAD-NOT-READ", idle)
    ordered = book.open_pairs(NOW)
    assert ordered[0].review_id == first and ordered[2].review_id == "rev-idle"
    assert ordered[0].due() < ordered[1].due()
    # decide_by comes second: the later pair is due for review first, but holds back later.
    assert ordered[1].match.decide_by < ordered[0].match.decide_by


def test_a_record_changed_after_the_pair_was_raised_is_flagged_and_shown_as_it_is_now() -> None:
    book, review = book_with_a_pair()
    pair = book.pairs[review]
    view = build_view(book, pair, NOW)
    assert view is not None
    first = view.candidates[0]
    assert first.record is not None and not first.changed
    moved = ChildRecord.model_validate(
        factories.example(
            "child-record",
            date_of_birth="2016-03-04",
            nhs_number=None,
            household_id="H-1",
            updated_at=(NOW + timedelta(hours=1)).isoformat(),
        )
    )
    book.record(moved.key, moved)
    view = build_view(book, pair, NOW)
    assert view is not None
    now_first = view.candidates[0]
    assert now_first.changed and now_first.record == moved
    assert "dob:exact" in [str(level) for level, _ in now_first.evidence.levels]  # type: ignore[union-attr]
    assert now_first.levels_then  # the levels when raised, which differ from now's
    book.record(moved.key, None)
    gone = build_view(book, pair, NOW)
    assert gone is not None and gone.candidates[0].record is None


def test_each_row_shows_the_level_its_weight_and_the_characters_that_differ() -> None:
    book, review = book_with_a_pair()
    view = build_view(book, book.pairs[review], NOW)
    assert view is not None
    twin = view.candidates[1]
    given = next(r for r in twin.rows if r.label == "Given name")
    assert given.level == "given:disagree" and given.bits is not None and given.bits < 0
    marked = "".join(s.text for s in given.record if s.differs)
    assert marked and set(marked) <= set("Zachary")
    total = twin.prior_bits + sum(r.bits for r in twin.rows if r.bits is not None)
    assert total == pytest.approx(twin.total_bits)
    assert any(r.also_candidate == 1 for r in twin.household)  # the child, plainly
    assert [s.rule for s in view.candidates[0].sends] == ["R5", "R1"]  # soonest first


def test_staff_are_named_by_the_providers_subject_never_an_email() -> None:
    assert (
        staff_id("6f1c1d0e-0000-4000-8000-000000000001") == "6f1c1d0e-0000-4000-8000-000000000001"
    )
    hashed = staff_id("priya.shah@council.example")
    assert hashed.startswith("sub-") and "@" not in hashed and "priya" not in hashed
    from streams.console import ConsoleSettings

    settings = ConsoleSettings(insecure_http=True)
    staff = staff_from(
        {"sub": "abc-1", "name": "Priya Shah", "roles": ["reviewer", "admin"], "organisation": "x"},
        settings,
        POLICY,
    )
    assert staff.staff_id == "abc-1" and [a.principal for a in staff.acting] == ["reviewers"]


def test_time_and_deadlines_in_words() -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/London")
    assert duration(timedelta(hours=3, minutes=12, seconds=5)) == "3 hours 12 minutes"
    assert duration(timedelta(days=1, hours=2, minutes=5)) == "1 day 2 hours"
    assert time_left(NOW - timedelta(minutes=90), NOW) == "overdue by 1 hour 30 minutes"
    due = NOW.replace(day=27, hour=8, minute=30)
    assert deadline(due, DeadlineClock.SCHOOL_DAY, zone) == "before school starts, Fri 27 Nov 08:30"


def test_a_decision_read_before_its_pair_still_settles_it() -> None:
    book, review = book_with_a_pair()
    pair = book.pairs.pop(review)
    fresh = ReviewBook(POLICY)
    from schemas import ReviewDecision

    decision = ReviewDecision.model_validate(
        factories.example("review-decision", review_id=review, approved_by="someone-else")
    )
    fresh.decision(decision)
    fresh.decision(decision)  # read twice
    fresh.possible_match(pair.key, pair.match)
    assert fresh.pairs[review].state == "settled" and len(fresh.pairs[review].decisions) == 1


def test_between_batches_the_book_works_out_what_pairs_hold_back_within_a_budget() -> None:
    book, review = book_with_a_pair()
    pair = book.pairs[review]
    for n in range(30):  # more pairs of the same child, none worked out yet
        book.possible_match(pair.key, pair.match.model_copy(update={"review_id": f"rev-{n}"}))
    assert book.warm(NOW, budget_s=0.0) > 0  # one pair at least, then the budget is spent
    assert book.warm(NOW, budget_s=10.0) == 0
    assert all(not p.stale and p.earliest is not None for p in book.pairs.values())
    record = book.replica.get("E09000030:C-100")
    assert record is not None
    book.record(record.key, record.model_copy(update={"updated_at": NOW}))
    assert book.warm(NOW, budget_s=10.0) == 0 and not book.pairs[review].stale


def test_why_a_pair_was_not_linked_names_the_runner_up_and_the_sibling() -> None:
    book, review = book_with_a_pair()
    pair = book.pairs[review]
    pair.match = pair.match.model_copy(
        update={
            "why": [
                "runner-up too close",
                "a sibling or twin in the same household is also plausible",
                "safety gate: names/date of birth/NHS number do not agree enough",
            ]
        }
    )
    view = build_view(book, pair, NOW)
    assert view is not None
    runner_up, sibling, gate = view.why
    first, second = (c.score for c in pair.match.candidates)
    assert runner_up.startswith(f"Candidate 2 scores {first - second:.1f} bits below")
    assert "(candidate 2) could also be this child" in sibling  # the twin, named
    assert "do not agree enough to link without a person" in gate


def test_the_address_row_carries_the_matchers_level_and_says_when_it_counted_once() -> None:
    """The address line is compared (issue 25): its row shows the level, and where the
    postcode agrees too, the one given no weight says why."""
    from schemas import InvolvedChild
    from streams.console.pairs import field_rows
    from streams.matching import Matcher
    from streams.tools.synthetic import council

    record = ChildRecord.model_validate(
        factories.example(
            "child-record", child_id="C-1", address="14 Larkspur Row, London", nhs_number=None
        )
    )
    child = InvolvedChild.model_validate(factories.incident()["children"][0])
    others = [ChildRecord.model_validate(r) for r in council(5, 500).records]
    evidence = Matcher([record, *others]).explain(child, record.key)  # a population
    rows = {row.label: row for row in field_rows(child, record, evidence)}
    address, postcode = rows["Address"], rows["Postcode"]
    assert (address.level, postcode.level) == ("address:exact", "postcode:full")
    (once,) = [row for row in (address, postcode) if row.bits == 0]
    assert once.meaning.endswith(("counted once, with the postcode", "with the address line"))
    assert "not weighed" not in address.meaning


async def test_a_pair_marked_not_sure_shows_the_reason_and_the_note_as_text() -> None:
    console, _, _ = build()
    review = the_pair(console)
    cookie, csrf = sign_in(console, "reviewer")
    note = "<b>Ask</b> the school"
    async with client(console, cookie) as http:
        recorded = await through_check(
            http, review, csrf, "decision", decision="unsure", reason="need_agency_check", note=note
        )
        assert recorded == 303
        shown = await http.get(f"/reviews/{review}")
    assert "<strong>Marked not sure</strong> by you" in shown.text  # markup, not text
    assert "&lt;b&gt;Ask&lt;/b&gt; the school" in shown.text  # a reviewer's words: text
    assert "I need to check with the school or another agency" in shown.text


def test_a_confirmation_another_tool_sent_without_approval_waits_like_a_proposal() -> None:
    """Under four eyes the worker does not act on it when it tells a school or allocated
    worker; the console must not drop the pair from the queue as if it were settled."""
    from schemas import ReviewDecision

    book, review = book_with_a_pair()
    lone = factories.example("review-decision", review_id=review, approved_by=None)
    book.decision(ReviewDecision.model_validate(lone))
    assert book.pairs[review].state == "awaiting_approval"
    assert [p.review_id for p in book.open_pairs(NOW)] == [review]
    relaxed, other = book_with_a_pair(policy=ONE_PAIR_OF_EYES)
    relaxed.decision(ReviewDecision.model_validate({**lone, "review_id": other}))
    assert relaxed.pairs[other].state == "settled" and relaxed.open_pairs(NOW) == []
