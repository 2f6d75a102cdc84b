"""The reference SDK's v1 samples run on ``durable start`` without a change.

Each sample of the ``azure-functions-durable`` 1.7.0 sdist's ``samples/`` folder (the
``function.json`` programming model) is started in a host subprocess twice: with its
import switched to ``durable_functions`` (``ours``) and unmodified, importing the
installed reference SDK (``reference``). The test drives it over HTTP as its code
intends (its HTTP starter, its routes, raised events; ``sample_drivers`` describes how,
and ``test_sample_engines.py`` runs the same on both engines) and checks the output is what
the code computes. Samples that call an outside service compute what they compute
when it cannot be reached; each says so below (``fan_in_fan_out`` also runs against
Azurite, where it completes). ``aml_monitoring`` is left out: it
needs an Azure Machine Learning workspace and its SDK to do anything at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azurite
import pytest
from apps.harness import Host, launch
from apps.reference_samples import copy_sample
from sample_drivers import SAMPLES, sample_host, sms_code

pytestmark = pytest.mark.e2e


def _host(sdist: Path, name: str, tmp_path: Path, switch: bool) -> Iterator[Host]:
    return sample_host(sdist, "samples", name, tmp_path, switch)


def _start(host: Host, name: str, run: str = "run") -> str:
    """Start the sample's run ``run`` through its HTTP starter (``sample_drivers``)."""
    return SAMPLES[f"samples/{name}"].runs[run].start(host)


def _history(host: Host, instance_id: str) -> list[dict[str, Any]]:
    reply = host.status(instance_id, "?showHistory=true&showHistoryOutput=true")
    return list(reply.json()["historyEvents"])


def _activity_results(host: Host, instance_id: str) -> list[Any]:
    return [
        e.get("Result") for e in _history(host, instance_id) if e["EventType"] == "TaskCompleted"
    ]


def test_function_chaining(sdist: Path, tmp_path: Path, switch_import: bool) -> None:
    for host in _host(sdist, "function_chaining", tmp_path, switch_import):
        instance = _start(host, "function_chaining")
        done = host.wait(instance)
        assert done["runtimeStatus"] == "Completed", done
        assert done["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_function_chaining_custom_status(sdist: Path, tmp_path: Path, switch_import: bool) -> None:
    for host in _host(sdist, "function_chaining_custom_status", tmp_path, switch_import):
        instance = _start(host, "function_chaining_custom_status")
        done = host.wait(instance)
        assert (done["runtimeStatus"], done["output"]) == ("Completed", 3), done
        assert done["customStatus"] == "1 -> 2 -> 3"


def test_fan_in_fan_out_lists_the_files_then_fails_to_reach_blob_storage(
    sdist: Path, tmp_path: Path, switch_import: bool
) -> None:
    """Without Azure Blob Storage (the test below gives it Azurite), the copies fail.

    They fail to import ``azure.storage.blob`` where it is not installed, else to
    connect with the sample's empty ``AzureWebJobsStorage``; the orchestration fails
    with the first copy's error after listing the files.
    """
    for host in _host(sdist, "fan_in_fan_out", tmp_path, switch_import):
        root = host.app_dir
        instance = _start(host, "fan_in_fan_out")
        done = host.wait(instance)
        assert done["runtimeStatus"] == "Failed", done
        assert "E2_CopyFileToBlob" in str(done["output"])
        listed = _activity_results(host, instance)[0]
        expected = sorted(
            str(root / folder / file)
            for folder in ("E2_BackupSiteContent", "E2_CopyFileToBlob", "E2_GetFileList")
            for file in ("__init__.py", "function.json")
        )
        assert sorted(listed) == expected


def test_fan_in_fan_out_backs_its_own_function_files_up_to_azurite(
    sdist: Path, tmp_path: Path, switch_import: bool, azurite_storage: str
) -> None:
    """With ``AzureWebJobsStorage`` pointing at Azurite, the copies succeed: the output is
    the bytes copied, and the ``backups`` container holds each file as ``<folder>_<file>``."""
    blob = azurite.blob_sdk()
    app_dir = copy_sample(sdist, "samples", "fan_in_fan_out", tmp_path, switch_import=switch_import)
    env = {**SAMPLES["samples/fan_in_fan_out"].env, "AzureWebJobsStorage": azurite_storage}
    host = launch(app_dir, tmp_path / "hub.sqlite3", env=env)
    try:
        done = host.wait(_start(host, "fan_in_fan_out"))
    finally:
        host.stop()
    files = {
        f"{folder}_{name}": (app_dir / folder / name).read_bytes()
        for folder in ("E2_BackupSiteContent", "E2_CopyFileToBlob", "E2_GetFileList")
        for name in ("__init__.py", "function.json")
    }
    total = sum(len(content) for content in files.values())
    assert (done["runtimeStatus"], done["output"]) == ("Completed", total), done
    service = blob.BlobServiceClient.from_connection_string(azurite_storage)
    backups = service.get_container_client("backups")
    copied = {b.name: backups.download_blob(b.name).readall() for b in backups.list_blobs()}
    assert copied == files


def test_serialize_arguments_round_trips_a_custom_class(
    sdist: Path, tmp_path: Path, switch_import: bool
) -> None:
    """The starter and the orchestrator import ``..shared_code.MyClasses`` relatively."""
    for host in _host(sdist, "serialize_arguments", tmp_path, switch_import):
        instance = _start(host, "serialize_arguments")
        done = host.wait(instance)
        assert (done["runtimeStatus"], done["output"]) == ("Completed", 5), done
        # The activity got SerializableClass(5) and returned it: to_json gives "5".
        [result] = _activity_results(host, instance)
        assert result["__data__"] == "5"


def test_simple_sub_orchestration(sdist: Path, tmp_path: Path, switch_import: bool) -> None:
    for host in _host(sdist, "simple_sub_orchestration", tmp_path, switch_import):
        instance = _start(host, "simple_sub_orchestration")
        done = host.wait(instance)
        assert (done["runtimeStatus"], done["output"]) == ("Completed", "Hello Seattle!"), done


def test_counter_entity(sdist: Path, tmp_path: Path, switch_import: bool) -> None:
    """A named ``http`` output (``message``) answers the start; RetrieveEntity reads the state."""
    for host in _host(sdist, "counter_entity", tmp_path, switch_import):
        instance = _start(host, "counter_entity")
        done = host.wait(instance)
        assert (done["runtimeStatus"], done["output"]) == ("Completed", 3), done
        reply = host.request("GET", "/api/entity/Counter/myCounter")
        assert reply.status == 200, (reply.status, reply.body)
        assert reply.json() == {"entity": "Counter", "key": "myCounter", "state": 3}
        missing = host.request("GET", "/api/entity/Counter/nobody")
        assert (missing.status, missing.body) == (404, b"Entity not found")


def test_human_interaction_with_the_right_code(
    sdist: Path, tmp_path: Path, switch_import: bool
) -> None:
    """Needs Twilio to send the SMS: the ``twilioSms`` output is not run, its value is logged.

    The challenge code is ``random.randint(0, 10000)`` after ``random.seed(10)``; a wrong
    answer leaves the orchestration waiting, the right one authorizes.
    """
    code = sms_code()
    for host in _host(sdist, "human_interaction", tmp_path, switch_import):
        assert "'message' (twilioSms): not run by the local host" in host.tail(60)
        instance = _start(host, "human_interaction", "right_code")
        host.wait(instance, until={"Running"})
        deadline = time.monotonic() + 20
        while not _activity_results(host, instance) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _activity_results(host, instance) == [code]
        sms = {"body": f"Your verification code is {code}", "to": "+14255550123"}
        assert json.dumps(sms) in host.log.read_text()
        SAMPLES["samples/human_interaction"].runs["right_code"].drive(host, instance)  # 0000, code
        done = host.wait(instance)
        assert (done["runtimeStatus"], done["output"]) == ("Completed", True), done


def test_human_interaction_refuses_a_bad_phone_number(
    sdist: Path, tmp_path: Path, switch_import: bool
) -> None:
    for host in _host(sdist, "human_interaction", tmp_path, switch_import):
        done = host.wait(_start(host, "human_interaction", "bad_phone_number"))
        assert done["runtimeStatus"] == "Failed"
        assert "Please provide a phone number beginning with" in str(done["output"])


def test_monitor_fails_when_github_cannot_be_reached(
    sdist: Path, tmp_path: Path, switch_import: bool
) -> None:
    """Needs the GitHub API: here every HTTPS request goes to a proxy that refuses it.

    The first ``E3_TooManyOpenIssues`` call raises (``requests`` cannot connect, or is
    not installed), so the monitor fails before its first timer.
    """
    for host in _host(sdist, "monitor", tmp_path, switch_import):
        assert "'message' (twilioSms): not run by the local host" in host.tail(60)
        done = host.wait(_start(host, "monitor"))
        assert done["runtimeStatus"] == "Failed", done
        assert "E3_TooManyOpenIssues" in str(done["output"])
        assert done["customStatus"] is None
