"""``durable history``: export orchestration histories from a running local host.

The export is what ``durable replay`` reads: keep it beside a test and replay it
against every new version of the code::

    durable history 3f2a... -o tests/histories/order-3f2a.json
    durable history --all -o tests/histories/
    durable replay tests/histories/ --app function_app.py

The full history (numeric ``EventType``, every event) comes from the host's raw
history endpoint ``GET /durabletask/instances/{id}/history/raw``. A host without
it (for example one behind the Azure Functions runtime) answers the status query
with ``showHistory=true`` instead; the replayer reconstructs what it can from that.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from durable_functions._protocol import EventType
from durable_functions.errors import DurableError, HostError, OrchestrationNotFoundError

DEFAULT_URL = "http://127.0.0.1:7071"
_TIMEOUT_SECONDS = 30


def _get(url: str) -> tuple[int, Any, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
            status, body, headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, body, headers = exc.code, exc.read(), dict(exc.headers or {})
    except (urllib.error.URLError, OSError) as exc:
        raise HostError(
            f"cannot reach the host at {url}: {exc}. Is `durable start` running?"
        ) from exc
    try:
        parsed = json.loads(body) if body else None
    except json.JSONDecodeError:
        parsed = body.decode("utf-8", "replace")
    return status, parsed, headers


def _base(url: str) -> str:
    return url.rstrip("/") + "/durabletask/"


def export_history(instance_id: str, *, url: str = DEFAULT_URL) -> dict[str, Any]:
    """Fetch one instance's history as ``{"instanceId", "name", "history": [...]}``.

    Raises:
        OrchestrationNotFoundError: the host has no such instance.
        HostError: the host cannot be reached or answers unexpectedly.
    """
    quoted = urllib.parse.quote(instance_id, safe="")
    status, body, _ = _get(f"{_base(url)}instances/{quoted}/history/raw")
    if status == 200:
        return _as_document(instance_id, body)
    # Either the instance or the raw endpoint is missing: ask the status API.
    query = "showHistory=true&showHistoryOutput=true&showInput=true"
    status, body, _ = _get(f"{_base(url)}instances/{quoted}?{query}")
    if status == 404:
        raise OrchestrationNotFoundError(f"No instance with ID '{instance_id}' found.")
    if status not in (200, 202) or not isinstance(body, dict):
        raise HostError(f"the host answered {status} for instance {instance_id!r}: {body!r}")
    return body


def _as_document(instance_id: str, body: Any) -> dict[str, Any]:
    if isinstance(body, list):
        document: dict[str, Any] = {"instanceId": instance_id, "history": body}
    elif isinstance(body, dict) and isinstance(body.get("history"), list):
        document = dict(body)
        document.setdefault("instanceId", instance_id)
    else:
        raise HostError(f"unexpected raw history for {instance_id!r}: {body!r}")
    if not document.get("name"):
        started = next(
            (
                e
                for e in document["history"]
                if isinstance(e, dict) and e.get("EventType") == EventType.ExecutionStarted
            ),
            None,
        )
        if started is not None:
            document["name"] = started.get("Name")
    return document


def list_instance_ids(*, url: str = DEFAULT_URL) -> list[str]:
    """Every instance id the host knows, following its continuation tokens."""
    ids: list[str] = []
    token: str | None = None
    while True:
        request = urllib.request.Request(
            f"{_base(url)}instances/?showInput=false",
            headers={"x-ms-continuation-token": token} if token else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
                body = json.loads(response.read() or b"[]")
                token = response.headers.get("x-ms-continuation-token")
        except (urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
            raise HostError(f"cannot list instances at {url}: {exc}") from exc
        ids.extend(str(item["instanceId"]) for item in body if isinstance(item, dict))
        if not token or not body:
            return ids


def _file_name(instance_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in instance_id)
    return f"{safe or 'instance'}.json"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``durable history``."""
    parser.add_argument("instance_ids", nargs="*", metavar="ID", help="instance ids to export")
    parser.add_argument("--all", action="store_true", help="export every instance")
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the host (default {DEFAULT_URL})")
    parser.add_argument(
        "-o",
        "--output",
        help="file to write (one instance), or folder (one file per instance); default stdout",
    )


def run(args: argparse.Namespace) -> int:
    """Export the histories; exit 0 on success."""
    ids = list(args.instance_ids)
    if args.all:
        ids.extend(i for i in list_instance_ids(url=args.url) if i not in ids)
    if not ids:
        raise DurableError("give an instance id, or --all")
    documents = [export_history(i, url=args.url) for i in ids]
    output = Path(args.output) if args.output else None
    if output is None:
        text = json.dumps(documents[0] if len(documents) == 1 else documents, indent=2)
        print(text)
        return 0
    if len(documents) > 1 or output.is_dir() or args.output.endswith(("/", "\\")):
        output.mkdir(parents=True, exist_ok=True)
        for instance_id, document in zip(ids, documents):
            target = output / _file_name(instance_id)
            target.write_text(json.dumps(document, indent=2), encoding="utf-8")
            print(target, file=sys.stderr)
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(documents[0], indent=2), encoding="utf-8")
    print(output, file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``durable history`` on its own."""
    from durable_functions.cli import main as cli_main

    return cli_main(["history", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
