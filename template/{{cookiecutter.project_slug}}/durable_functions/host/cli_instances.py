"""``durable get-instances``, ``terminate``, …: Core Tools' ``func durable`` commands.

Core Tools v2/v3 had them; v4 dropped them. These speak to a running host
(``durable start``, or any host with the Durable management HTTP API) at
``--url``, with the names and flags of ``func durable``. Every rule (what may be
terminated, which filters are valid, …) is the host's: a refusal comes back as
the host's message, in one line. Output is a table for people, ``--json`` for
scripts.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from durable_functions._protocol import EventType
from durable_functions.errors import HostError

DEFAULT_URL = "http://127.0.0.1:7071"
PREFIX = "/runtime/webhooks/durabletask"
EARLIEST = "1970-01-01T00:00:00Z"
"""``--created-after`` when none is given (Core Tools: ``DateTime.MinValue``)."""
_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: Any
    token: str | None


class _Host:
    """The management API of the host at ``url``, one blocking request at a time."""

    def __init__(self, url: str, hub: str | None) -> None:
        self.url = url.rstrip("/")
        self.hub = hub

    def call(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        *,
        body: bytes | None = None,
        token: str | None = None,
        ok: Sequence[int] = (200, 202),
    ) -> _Answer:
        """One request; an answer outside ``ok`` raises the host's message."""
        params = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        if self.hub:
            params["taskHub"] = self.hub
        target = f"{self.url}{PREFIX}/{path}" + (f"?{urlencode(params)}" if params else "")
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["x-ms-continuation-token"] = token
        request = urllib.request.Request(target, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                status, raw, found = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, found = exc.code, exc.read(), exc.headers
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise HostError(
                f"no durable host answers at {self.url} ({reason}); "
                "start one with `durable start`, or pass --url"
            ) from None
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        answer = _Answer(status, parsed, found.get("x-ms-continuation-token") if found else None)
        if status not in ok:
            raise HostError(f"the host refused ({status}): {_message(parsed)}")
        return answer


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("ExceptionMessage") or body.get("Message") or json.dumps(body))
    return str(body or "no details")


def _json_argument(text: str | None, flag: str) -> bytes | None:
    """A JSON value given inline or as ``@file`` (as Core Tools takes ``--input``)."""
    if text is None:
        return None
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise HostError(f"cannot read {flag} file {path}: {exc.strerror or exc}") from None
    try:
        json.loads(text)
    except ValueError:
        # Not JSON: send it as a JSON string, as Core Tools does with plain text.
        return json.dumps(text).encode("utf-8")
    return text.encode("utf-8")


def _id(instance_id: str) -> str:
    return quote(instance_id, safe="")


# ------------------------------------------------------------------------ output


def _table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain text table, columns as wide as their widest cell."""
    cells = [headers, *rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _print(args: argparse.Namespace, value: Any, text: Callable[[], str]) -> int:
    print(json.dumps(value, indent=2) if args.json else text())
    return 0


def _done(args: argparse.Namespace, what: str, value: Any = None) -> int:
    if args.json:
        print(json.dumps(value if value is not None else {"result": what}, indent=2))
    else:
        print(what)
    return 0


# ------------------------------------------------------------------------ options


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"the host's base URL (default {DEFAULT_URL})"
    )
    parser.add_argument("--task-hub-name", default=None, help="task hub (default: the host's)")
    parser.add_argument("--json", action="store_true", help="print the host's JSON answer")


def _with_id(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--id", required=True, help="the instance id")


def _with_reason(parser: argparse.ArgumentParser) -> None:
    _with_id(parser)
    parser.add_argument("--reason", default="", help="why (recorded in the history)")


def _with_time_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--created-after", default=None, help="ISO 8601 date/time (UTC)")
    parser.add_argument("--created-before", default=None, help="ISO 8601 date/time (UTC)")
    parser.add_argument(
        "--runtime-status",
        action="append",
        default=[],
        help="Running, Completed, Failed, … (repeat it or use commas)",
    )


def _host(args: argparse.Namespace) -> _Host:
    return _Host(args.url, args.task_hub_name)


def _statuses(args: argparse.Namespace) -> str:
    return ",".join(s.strip() for item in args.runtime_status for s in item.split(",") if s)


# ------------------------------------------------------------------------ commands


def configure_get_instances(parser: argparse.ArgumentParser) -> None:
    """Declare ``durable get-instances``."""
    _common(parser)
    _with_time_filters(parser)
    parser.add_argument("--top", type=int, default=10, help="instances per page (default 10)")
    parser.add_argument("--continuation-token", default=None, help="the next page's token")
    parser.add_argument("--show-input", action="store_true", help="include each input")


def run_get_instances(args: argparse.Namespace) -> int:
    """List instances, newest first."""
    query = {
        "createdTimeFrom": args.created_after,
        "createdTimeTo": args.created_before,
        "runtimeStatus": _statuses(args),
        "top": str(args.top),
        "newestFirst": "true",
        "showInput": str(args.show_input).lower(),
    }
    answer = _host(args).call("GET", "instances/", query, token=args.continuation_token)
    items = answer.body or []
    if args.json:
        return _print(args, {"instances": items, "continuationToken": answer.token}, str)
    if not items:
        print("No instances.")
    else:
        headers = ["Instance ID", "Name", "Status", "Created", "Last updated"]
        rows = [
            [i["instanceId"], i["name"], i["runtimeStatus"], i["createdTime"], i["lastUpdatedTime"]]
            for i in items
        ]
        if args.show_input:
            headers.append("Input")
            for row, item in zip(rows, items):
                row.append(_short(item.get("input")))
        print(_table(rows, headers))
    if answer.token:
        print(f"\nMore instances: --continuation-token '{answer.token}'")
    return 0


def configure_get_runtime_status(parser: argparse.ArgumentParser) -> None:
    """Declare ``durable get-runtime-status``."""
    _with_id(parser)
    parser.add_argument("--show-input", action="store_true", help="include the input")
    parser.add_argument("--show-output", action="store_true", help="include the output")


def run_get_runtime_status(args: argparse.Namespace) -> int:
    """Print one instance's status."""
    query = {"showInput": str(args.show_input).lower()}
    body = dict(_host(args).call("GET", f"instances/{_id(args.id)}", query).body)
    if not args.show_output:
        body.pop("output", None)
    if not args.show_input:
        body.pop("input", None)

    def text() -> str:
        shown = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in body.items()]
        width = max(len(k) for k, _ in shown)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in shown)

    return _print(args, body, text)


def configure_get_history(parser: argparse.ArgumentParser) -> None:
    """Declare ``durable get-history``."""
    _with_id(parser)


def _event_name(value: Any) -> str:
    try:
        return EventType(int(value)).name
    except (TypeError, ValueError):
        return str(value)


def run_get_history(args: argparse.Namespace) -> int:
    """Print an instance's full history, one event a line."""
    body = _host(args).call("GET", f"instances/{_id(args.id)}/history/raw").body
    events = body.get("history", []) if isinstance(body, dict) else []
    if args.json:
        return _print(args, body, str)
    rows = []
    for event in events:
        details = event.get("Result", event.get("Input"))
        if event.get("FailureDetails"):
            details = event["FailureDetails"].get("ErrorMessage")
        elif event.get("Reason"):
            details = event["Reason"]
        rows.append(
            [
                _event_name(event.get("EventType")),
                str(event.get("Name") or ""),
                str(event.get("Timestamp") or ""),
                "" if details is None else _short(details),
            ]
        )
    print(f"{body.get('name')} {body.get('instanceId')} ({body.get('runtimeStatus')})")
    print(_table(rows, ["Event", "Name", "Timestamp", "Result / input / reason"]))
    return 0


def configure_start_new(parser: argparse.ArgumentParser) -> None:
    """Declare ``durable start-new``."""
    _common(parser)
    parser.add_argument("--function-name", required=True, help="the orchestrator to start")
    parser.add_argument("--input", default=None, help="JSON input, or @file.json")
    parser.add_argument("--id", default=None, help="instance id (default: a new one)")


def run_start_new(args: argparse.Namespace) -> int:
    """Start an orchestration."""
    path = f"orchestrators/{quote(args.function_name, safe='')}"
    if args.id:
        path += f"/{_id(args.id)}"
    body = _json_argument(args.input, "--input")
    answer = _host(args).call("POST", path, body=body)
    instance_id = answer.body.get("id") if isinstance(answer.body, dict) else None
    return _done(args, f"Started {args.function_name} as instance {instance_id}", answer.body)


def configure_raise_event(parser: argparse.ArgumentParser) -> None:
    """Declare ``durable raise-event``."""
    _with_id(parser)
    parser.add_argument("--event-name", required=True, help="the event's name")
    parser.add_argument("--event-data", default="null", help="JSON data, or @file.json")


def run_raise_event(args: argparse.Namespace) -> int:
    """Send an event to an instance."""
    path = f"instances/{_id(args.id)}/raiseEvent/{quote(args.event_name, safe='')}"
    _host(args).call("POST", path, body=_json_argument(args.event_data, "--event-data"))
    return _done(args, f"Raised event {args.event_name!r} to {args.id}")


def _control(args: argparse.Namespace, operation: str, done: str) -> int:
    _host(args).call("POST", f"instances/{_id(args.id)}/{operation}", {"reason": args.reason})
    return _done(args, f"{done} {args.id}")


configure_terminate = configure_suspend = configure_resume = configure_rewind = _with_reason


def run_terminate(args: argparse.Namespace) -> int:
    """Terminate an instance."""
    return _control(args, "terminate", "Terminated")


def run_suspend(args: argparse.Namespace) -> int:
    """Suspend an instance."""
    return _control(args, "suspend", "Suspended")


def run_resume(args: argparse.Namespace) -> int:
    """Resume a suspended instance."""
    return _control(args, "resume", "Resumed")


def run_rewind(args: argparse.Namespace) -> int:
    """Rewind a failed instance."""
    return _control(args, "rewind", "Rewound")


def configure_purge_history(parser: argparse.ArgumentParser) -> None:
    """Declare ``durable purge-history``."""
    _common(parser)
    _with_time_filters(parser)


def run_purge_history(args: argparse.Namespace) -> int:
    """Delete the instances (and their histories) that match the filters."""
    query = {
        "createdTimeFrom": args.created_after or EARLIEST,
        "createdTimeTo": args.created_before,
        "runtimeStatus": _statuses(args),
    }
    answer = _host(args).call("DELETE", "instances/", query, ok=(200, 404))
    deleted = answer.body.get("instancesDeleted", 0) if isinstance(answer.body, dict) else 0
    return _done(args, f"Purged {deleted} instance(s)", answer.body)


def configure_delete_task_hub(parser: argparse.ArgumentParser) -> None:
    """Declare ``durable delete-task-hub``."""
    _common(parser)


def run_delete_task_hub(args: argparse.Namespace) -> int:
    """Delete every instance and every entity of the task hub."""
    host = _host(args)
    answer = host.call("DELETE", "instances/", {"createdTimeFrom": EARLIEST}, ok=(200, 404))
    instances = answer.body.get("instancesDeleted", 0) if isinstance(answer.body, dict) else 0
    entities: list[dict[str, str]] = []
    token: str | None = None
    while True:
        page = host.call("GET", "entities/", {"top": "1000"}, token=token)
        entities.extend(item["entityId"] for item in page.body or [])
        token = page.token
        if not token:
            break
    for entity in entities:
        key = entity["key"] or "$"
        host.call("DELETE", f"entities/{quote(entity['name'], safe='')}/{quote(key, safe='')}")
    # An entity's state goes when it runs the `delete` operation the host queues for it.
    summary = {"instancesDeleted": instances, "entityDeletesSent": len(entities)}
    return _done(
        args,
        f"Deleted {instances} instance(s); sent `delete` to {len(entities)} entit"
        + ("y" if len(entities) == 1 else "ies"),
        summary,
    )
