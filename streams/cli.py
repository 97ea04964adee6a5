"""The ``frontdoor`` command: local broker, topics, contracts, worker and demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.connection import TopicUnreadable


def _policy() -> Any:
    from streams.routing import load_policy
    from streams.settings import Settings

    return load_policy(Settings().policy_file)


def _kafka(args: argparse.Namespace) -> int:
    from streams import access
    from streams.operations import acl
    from streams.settings import Settings
    from streams.tools.platform import localkafka, pki

    settings = localkafka.LocalKafkaSettings()
    if args.nodes:
        settings = settings.model_copy(update={"nodes": args.nodes})
    try:
        if args.action == "secrets":  # for a deployment's broker (docker-compose)
            if not args.principal:
                print("frontdoor kafka secrets: name a directory to make them in", file=sys.stderr)
                return 2
            from streams.tools.platform import compose_secrets

            hosts = tuple(args.host or ["kafka", "localhost"])
            principals = localkafka.principals_with(access.parties(_policy()))
            made = compose_secrets.make(Path(args.principal), principals, hosts)
            print(
                f"secrets in {made.root}: {made.kafka} for the broker's container (uid "
                f"{compose_secrets.KAFKA_UID}: its CA, certificate for {', '.join(hosts)} and "
                f"every principal's password), {made.frontdoor} for frontdoor's (uid "
                f"{compose_secrets.FRONTDOOR_UID}: its passwords, the CA, the gateway's "
                f"certificate and API keys file), {made.authority.root} for you (the CA's key; "
                "never mounted)"
            )
            needed = made.owners_needed()
            if needed:
                print(
                    "not root: each container's user cannot read its files yet. Run, as root "
                    "(Docker Engine), or inside `podman unshare` (rootless podman):",
                    file=sys.stderr,
                )
                for command in needed:
                    print(f"  {command}", file=sys.stderr)
            return 0
        if args.action == "certificate":  # for a local service: the HTTPS gateway
            name = args.principal or "gateway"
            hosts = tuple(args.host or pki.HOSTS)
            if not settings.secrets.ca_file.exists():
                print(
                    f"frontdoor kafka certificate: no local CA in {settings.secrets.root}: "
                    "run `frontdoor kafka start` first",
                    file=sys.stderr,
                )
                return 2
            pem = pki.server_certificate(settings.secrets, name, hosts)
            print(f"FRONTDOOR_EDGE_TLS_CERTFILE={pem}")
            print(f"FRONTDOOR_EDGE_TLS_KEYFILE={pem}")
            print(
                f"({name}'s key and certificate chain, owner-only, for {', '.join(hosts)}; "
                f"signed by the local CA {settings.secrets.ca_file}, which clients trust)",
                file=sys.stderr,
            )
            return 0
        if args.action == "credentials":
            if not args.principal:
                print("frontdoor kafka credentials: name a principal", file=sys.stderr)
                return 2
            for name, value in settings.client_environment(args.principal).items():
                print(f"{name}={value}")
            return 0
        if args.action == "start":
            policy = _policy()
            result = localkafka.start(settings, access.parties(policy))
            how = "reusing running broker" if result.reused else "started broker"
            print(
                f"{how} on {result.bootstrap} (pid {result.pid or 'not ours'}) "
                f"ready in {result.seconds:.1f} s"
            )
            if settings.secured:  # the deployment named by FRONTDOOR_* gets its ACLs
                own = Settings().model_dump(include={"topic_prefix", "app_id"})
                applied = acl.apply(policy, localkafka.client_settings(settings, "admin", **own))
                print(
                    f"SASL_SSL with ACLs: {len(access.parties(policy))} principals; "
                    f"ACLs {len(applied.created)} created, {len(applied.removed)} removed, "
                    f"{applied.kept} kept; `frontdoor kafka credentials PRINCIPAL` to connect"
                )
        elif args.action == "stop":
            stopped = localkafka.stop(settings)
            print("stopped broker" if stopped else "no broker of ours was running")
        else:
            pid, answers = localkafka.status(settings)
            state = "answering" if answers else "not answering"
            print(f"broker on {settings.bootstrap}: {state}; pid {pid or '-'}")
            return 0 if answers else 3
    except localkafka.BrokerError as exc:
        print(f"frontdoor kafka {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def _idp(args: argparse.Namespace) -> int:
    from streams.tools.platform import idp, localkafka

    settings, kafka = idp.IdpSettings(), localkafka.LocalKafkaSettings()
    try:
        if args.action == "start":
            result = idp.start(settings, kafka)
            how = "reusing running" if result.reused else "started"
            memory = idp.memory_mib(settings)
            print(
                f"{how} Keycloak on {settings.base_url} (pid {result.pid or 'not ours'}) "
                f"ready in {result.seconds:.1f} s"
                + (f", {memory:.0f} MiB resident" if memory else "")
            )
            print(f"issuer {settings.issuer}; demo staff: `frontdoor idp staff`")
        elif args.action == "launch":  # start without waiting (make test boots it early)
            process = idp.launch(settings, kafka)
            print("launched Keycloak" if process else "Keycloak is already running")
        elif args.action == "stop":
            print("stopped Keycloak" if idp.stop(settings) else "no Keycloak of ours was running")
        elif args.action == "staff":
            for person in idp.staff(settings):
                where = ", ".join(person.organisations) or "-"
                print(
                    f"{person.username:<14} {person.password}  {person.name:<12} "
                    f"{', '.join(person.roles):<18} {where}"
                )
        elif args.action == "register":
            if not args.url:
                print(
                    "frontdoor idp register: give the console's https:// address", file=sys.stderr
                )
                return 2
            idp.register_console(settings, kafka, args.url.rstrip("/"))
            print(f"the console at {args.url} may sign people in and out")
        else:
            up = idp.answers(settings, kafka)
            print(f"Keycloak on {settings.base_url}: {'answering' if up else 'not answering'}")
            return 0 if up else 3
    except idp.IdpError as exc:
        print(f"frontdoor idp {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def _connects(settings: Any, command: str) -> bool:
    """Name the reason a command cannot reach the broker (aiokafka only says it could not)."""
    from streams.connection import diagnose

    reason = diagnose(settings)
    if reason is not None:
        print(f"frontdoor {command}: cannot connect to Kafka: {reason}", file=sys.stderr)
    return reason is None


def _acl(args: argparse.Namespace) -> int:
    from streams import access
    from streams.operations import acl
    from streams.settings import Settings

    settings, policy = Settings(), _policy()
    if args.action == "plan":
        planned = access.plan(policy, settings)
        for entry in planned:
            print(entry)
        print(f"{len(planned)} ACLs for {len(access.parties(policy))} principals", file=sys.stderr)
        return 0
    if not _connects(settings, "acl apply"):
        return 1
    try:
        applied = acl.apply(policy, settings)
    except acl.AclError as exc:
        print(f"frontdoor acl apply: {exc}", file=sys.stderr)
        return 1
    for entry in applied.created:
        print(f"created  {entry}")
    for entry in applied.removed:
        print(f"removed  {entry}")
    print(f"{len(applied.created)} created, {len(applied.removed)} removed, {applied.kept} kept")
    return 0


def _topics(args: argparse.Namespace) -> int:
    from streams.settings import Settings
    from streams.topics import admin

    settings = Settings()
    if not _connects(settings, "topics create"):
        return 1
    try:
        created = admin.create_all(settings)
    except RuntimeError as exc:
        print(f"frontdoor topics create: {exc}", file=sys.stderr)
        return 1
    for name, was_created in created.items():
        print(f"{'created' if was_created else 'exists '}  {name}")
    return 0


def _generated(module_name: str, action: str) -> int:
    """``write`` regenerates a module's committed files; ``check`` fails if any drifted."""
    import importlib

    module = importlib.import_module(f"streams.tools.generators.{module_name}")
    if action == "write":
        for path in module.write():
            print(f"wrote {path}")
        return 0
    stale = module.stale()
    for path in stale:
        print(f"out of date: {path} (run `frontdoor {module_name} write`)", file=sys.stderr)
    return 1 if stale else 0


def _contracts(args: argparse.Namespace) -> int:
    return _generated("contracts", args.action)


def _dashboards(args: argparse.Namespace) -> int:
    return _generated("dashboards", args.action)


def _docs(args: argparse.Namespace) -> int:
    return _generated("docs", args.action)


def _bench(args: argparse.Namespace) -> int:
    if args.what == "whatif":
        from streams.tools.bench import whatif

        return whatif.run(records=args.records, count=args.year_incidents, days=args.days)
    if args.what == "console":
        from streams.tools.bench import console

        return console.run(reviews=args.reviews)
    if args.what == "gateway":
        from streams.tools.bench import gateway

        return gateway.run(args.gateway_rate, args.gateway_seconds, args.clients)
    if args.what == "signals":
        from streams.tools.bench import signals

        return signals.run(rate=args.signals_rate, seconds=args.signals_seconds)
    if args.what == "pipeline":
        from streams.tools.bench import pipeline

        return pipeline.run(
            records=args.records,
            count=args.incidents,
            rate=args.rate,
            seconds=args.seconds,
            steady_rate=args.steady_rate,
        )
    from streams.tools.bench import matching

    return matching.run(
        size=args.records,
        queries=args.queries,
        seed=args.seed,
        which=tuple(args.benchmark or [b.name for b in matching.BENCHMARKS]),
    )


def _matching(args: argparse.Namespace) -> int:
    from schemas import ChildRecord
    from streams import topics
    from streams.settings import Settings
    from streams.tools import estimation
    from streams.topics.io import read_all

    if args.from_topic:
        records = []
        for m in read_all(Settings(), [topics.CHILD_RECORDS]):
            if m.value is not None:
                try:
                    records.append(ChildRecord.model_validate_json(m.value))
                except ValueError:
                    continue  # dead-lettered by the worker already
        latest = list({r.key: r for r in records}.values())
        if len(latest) < 1000:
            print(f"only {len(latest)} council records: too few to estimate u", file=sys.stderr)
            return 1
        model = estimation.estimate_for_records(latest)
        what = f"u from {len(latest)} council records on the topic; m as packaged"
    else:
        model = estimation.estimate_synthetic(size=args.records, seed=args.seed)
        what = f"u and m from a synthetic council of {args.records} (seed {args.seed})"
    Path(args.output).write_text(model.to_json())
    print(f"wrote {args.output}: {what}; set FRONTDOOR_MATCH_MODEL to use it")
    return 0


def _worker(args: argparse.Namespace) -> int:
    from streams.worker import run_worker

    run_worker(loglevel=args.loglevel)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from streams.tools.demo import run_demo

    return run_demo(
        seed=args.seed,
        incidents_count=args.incidents,
        council_size=args.council_size,
        keep_running=args.keep_running,
    )


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset, e.g. 2026-11-23T00:00Z")
    return moment


def _report(args: argparse.Namespace) -> int:
    from streams.compliance import render_report
    from streams.settings import Settings
    from streams.topics.reports import from_topics

    if args.until <= args.since:
        print("frontdoor report: --until must be after --since", file=sys.stderr)
        return 2
    settings = Settings()
    if not _connects(settings, "report"):
        return 1
    built = from_topics(settings, args.since, args.until, datetime.now(UTC))
    text = render_report(built, args.format)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output} ({len(built.rows)} agency/rule rows)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _whatif(args: argparse.Namespace) -> int:
    from streams.operations import whatif
    from streams.settings import Settings

    if args.until <= args.since:
        print("frontdoor whatif: --until must be after --since", file=sys.stderr)
        return 2
    from streams.routing import PolicyError, load_policy

    if not args.policy.is_file():
        print(f"frontdoor whatif: no policy file at {args.policy}", file=sys.stderr)
        return 2
    try:  # validated exactly as the worker validates its policy, before any connection
        load_policy(args.policy)
    except PolicyError as error:
        print(f"frontdoor whatif: {error}", file=sys.stderr)
        return 2
    settings = _settings_said("whatif", Settings)
    if settings is None or not _connects(settings, "whatif"):
        return 1
    output = Path(args.output) if args.output else None
    return whatif.run(settings, args.since, args.until, args.policy, args.format, output)


def _verify(args: argparse.Namespace) -> int:
    from streams.operations import verify

    return verify.run(args.since, args.until)


def _settings_said(command: str, make: Any) -> Any:
    """Service settings from the environment, or None with each problem said (no value)."""
    from pydantic import ValidationError

    try:
        return make()
    except ValidationError as error:
        for problem in error.errors(include_input=False, include_url=False):
            where = ".".join(str(p) for p in problem["loc"]) or "settings"
            print(f"frontdoor {command}: {where}: {problem['msg']}", file=sys.stderr)
        return None


def _gateway(args: argparse.Namespace) -> int:
    from streams.edge import CredentialsError, EdgeSettings, add_key, run_gateway
    from streams.settings import Settings

    # a key is made without the TLS settings serving needs
    insecure = args.action == "key"
    edge = _settings_said(
        "gateway", lambda: EdgeSettings(insecure_http=True) if insecure else EdgeSettings()
    )
    if edge is None:
        return 2
    if args.action == "key":
        if not args.principal:
            print("frontdoor gateway key: name the principal (e.g. police-MPS)", file=sys.stderr)
            return 2
        forces = set(_policy().signals.police_sources)
        try:
            key = add_key(edge.keys_file, args.principal, args.organisation, args.label, forces)
        except CredentialsError as error:
            print(f"frontdoor gateway key: {error}", file=sys.stderr)
            return 2
        print(key)
        print(
            f"(shown once; its SHA-256 is in {edge.keys_file}; restart the gateway to use it)",
            file=sys.stderr,
        )
        return 0
    settings = Settings()
    if not _connects(settings, "gateway"):
        return 1
    try:
        run_gateway(settings, edge)
    except CredentialsError as error:
        print(f"frontdoor gateway: {error}", file=sys.stderr)
        return 2
    return 0


def _console(args: argparse.Namespace) -> int:
    from streams.console import ConsoleSettings, run_console
    from streams.settings import Settings

    config = _settings_said("console", ConsoleSettings)
    if config is None:
        return 2
    missing = config.problems()
    try:
        from streams.console.mail import load_addresses

        load_addresses(config.mail_to_file)
    except (OSError, ValueError) as exc:  # a YAML error is a ValueError
        missing.append(f"FRONTDOOR_CONSOLE_MAIL_TO_FILE: {exc}")
    for said in missing:
        print(f"frontdoor console: {said}", file=sys.stderr)
    if missing:
        return 2
    settings = Settings()
    if not _connects(settings, "console"):
        return 1
    run_console(settings, config)
    return 0


def _period_and_output(command: argparse.ArgumentParser) -> None:
    """--since, --until, --format and --output, as report and whatif take them."""
    command.add_argument("--since", type=_when, required=True, help="ISO time with offset")
    command.add_argument("--until", type=_when, required=True, help="ISO time with offset")
    command.add_argument("--format", choices=["table", "csv", "json", "html"], default="table")
    command.add_argument("--output", help="write to this file instead of standard output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontdoor", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    kafka = sub.add_parser("kafka", help="the local Kafka broker (secured: SASL_SSL + ACLs)")
    kafka.add_argument(
        "action", choices=["start", "stop", "status", "credentials", "certificate", "secrets"]
    )
    kafka.add_argument(
        "principal",
        nargs="?",
        help="credentials: the party to connect as (e.g. worker, police-MPS, operations); "
        "certificate: the local service it is for (default gateway); "
        "secrets: the directory to make a deployment's CA, certificate and passwords in",
    )
    kafka.add_argument(
        "--host",
        action="append",
        help="secrets: a host name the broker is reached by; certificate: the service's",
    )
    kafka.add_argument(
        "--nodes",
        type=int,
        choices=[1, 3],
        help="3: a three-node cluster for fault tests (replication 3, min.insync.replicas 2)",
    )
    kafka.set_defaults(func=_kafka)

    provider = sub.add_parser(
        "idp", help="the local identity provider (a real Keycloak) for the console's sign-in"
    )
    provider.add_argument(
        "action", choices=["start", "stop", "status", "staff", "register", "launch"]
    )
    provider.add_argument("url", nargs="?", help="register: the console's https:// address")
    provider.set_defaults(func=_idp)

    acls = sub.add_parser("acl", help="ACLs derived from the policy and the topics")
    acls.add_argument("action", choices=["plan", "apply"])
    acls.set_defaults(func=_acl)

    topics = sub.add_parser("topics", help="declare frontdoor's topics on the broker")
    topics.add_argument("action", choices=["create"])
    topics.set_defaults(func=_topics)

    contracts = sub.add_parser("contracts", help="generated JSON Schema and AsyncAPI")
    contracts.add_argument("action", choices=["write", "check"])
    contracts.set_defaults(func=_contracts)

    boards = sub.add_parser("dashboards", help="generated Grafana dashboards")
    boards.add_argument("action", choices=["write", "check"])
    boards.set_defaults(func=_dashboards)

    docs = sub.add_parser("docs", help="the parts of docs/ generated from code")
    docs.add_argument("action", choices=["write", "check"])
    docs.set_defaults(func=_docs)

    bench = sub.add_parser("bench", help="benchmarks (printed with units)")
    bench.add_argument(
        "what", choices=["matching", "pipeline", "signals", "gateway", "console", "whatif"]
    )
    bench.add_argument(
        "--signals-rate", type=float, default=100.0, help="signals: background incidents/s"
    )
    bench.add_argument(
        "--signals-seconds", type=float, default=60.0, help="signals: each run's duration"
    )
    bench.add_argument(
        "--year-incidents", type=int, default=255_000, help="whatif: incidents in the period"
    )
    bench.add_argument("--days", type=int, default=365, help="whatif: days in the period")
    bench.add_argument("--reviews", type=int, default=10_000, help="console: open reviews")
    bench.add_argument(
        "--gateway-rate", type=float, default=100.0, help="gateway: offered requests/s"
    )
    bench.add_argument("--gateway-seconds", type=float, default=30.0, help="gateway: duration")
    bench.add_argument("--clients", type=int, default=32, help="gateway: clients at saturation")
    bench.add_argument("--incidents", type=int, default=50_000, help="pipeline: incidents")
    bench.add_argument("--rate", type=float, default=500.0, help="latency: incidents/s")
    bench.add_argument("--seconds", type=float, default=60.0, help="latency: duration")
    bench.add_argument(
        "--steady-rate",
        type=float,
        default=100.0,
        help="latency again at this sustainable load (incidents/s); 0 skips it",
    )
    bench.add_argument("--records", type=int, default=100_000, help="council records")
    bench.add_argument("--queries", type=int, default=20_000, help="police-side children")
    bench.add_argument("--seed", type=int, default=2, help="report on a seed not tuned on")
    bench.add_argument(
        "--benchmark",
        action="append",
        choices=["standard", "harsh", "published"],
        help="matching: only this benchmark (repeatable; default all three)",
    )
    bench.set_defaults(func=_bench)

    matching = sub.add_parser("matching", help="the matcher's model")
    matching.add_argument("action", choices=["estimate"])
    matching.add_argument("--output", required=True, help="model JSON to write")
    matching.add_argument(
        "--from-topic",
        action="store_true",
        help="re-estimate u from the council records on the topic",
    )
    matching.add_argument("--records", type=int, default=100_000, help="synthetic council size")
    matching.add_argument("--seed", type=int, default=1, help="synthetic tuning seed")
    matching.set_defaults(func=_matching)

    worker = sub.add_parser("worker", help="run a stream-processing worker")
    worker.add_argument("-l", "--loglevel", default="info")
    worker.set_defaults(func=_worker)

    gateway = sub.add_parser(
        "gateway", help="the HTTPS gateway (FRONTDOOR_EDGE_*), or make an API key for it"
    )
    gateway.add_argument("action", nargs="?", choices=["serve", "key"], default="serve")
    gateway.add_argument("principal", nargs="?", help="key: the party (e.g. police-MPS)")
    gateway.add_argument(
        "--organisation", help="key: its organisation ('urn:123456', '<council>:front-door')"
    )
    gateway.add_argument("--label", default="", help="key: who it is for (not secret)")
    gateway.set_defaults(func=_gateway)

    people = sub.add_parser(
        "console",
        help="the console for people: review console (FRONTDOOR_CONSOLE_*, sign-in by OIDC)",
    )
    people.set_defaults(func=_console)

    rep = sub.add_parser(
        "report",
        help="compliance report from the topics: notifications first sent in [since, until), "
        "status as at until (or now, while the period is open)",
    )
    _period_and_output(rep)
    rep.set_defaults(func=_report)

    whatif = sub.add_parser(
        "whatif",
        help="replay a period under the live policy and a draft: who would have been told, "
        "when, and which deadlines would flip (read only; as the operations principal)",
    )
    _period_and_output(whatif)
    whatif.add_argument("--policy", type=Path, required=True, help="the draft policy (YAML)")
    whatif.set_defaults(func=_whatif)

    check = sub.add_parser(
        "verify", help="is every incident of a period audited or dead-lettered? (exit 1 if not)"
    )
    check.add_argument("--since", type=_when, required=True, help="ISO time with offset")
    check.add_argument("--until", type=_when, required=True, help="ISO time with offset")
    check.set_defaults(func=_verify)

    demo = sub.add_parser("demo", help="end-to-end demo on the local broker")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--incidents", type=int, default=700, help="incidents in the day")
    demo.add_argument("--council-size", type=int, default=5000, help="child records")
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="after the summary, keep the broker, worker, gateway, Keycloak and console "
        "running to click through, until Ctrl-C (make demo KEEP=1)",
    )
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TopicUnreadable as error:
        print(f"frontdoor {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
