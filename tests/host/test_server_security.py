"""Local security defaults: a private keys file, keys on the management API, a loud exposed bind.

With ``--require-keys`` the management API needs the task hub's system key (or the
master key), as in Azure; the RPC prefix the durable client calls stays open to
this machine only. Bound to every address, the banner warns and shows a URL other
machines can use.
"""

from __future__ import annotations

import json
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from apps.harness import Host, copy_app, launch

from durable_functions.host.http import _this_machine, is_loopback

pytestmark = pytest.mark.e2e

MANAGEMENT = "/runtime/webhooks/durabletask/instances"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp("keys")
    host = launch(copy_app("sdk_app", tmp), tmp / "hub.sqlite3", args=("--require-keys",))
    try:
        yield host
    finally:
        host.stop()


def _keys(host: Host) -> dict[str, object]:
    data: dict[str, object] = json.loads((host.app_dir / ".durable" / "keys.json").read_text())
    return data


def _system_key(host: Host) -> str:
    system = _keys(host)["systemKeys"]
    assert isinstance(system, dict)
    return str(system["durabletask_extension"])


def test_the_keys_file_is_readable_by_its_owner_only(keyed: Host) -> None:
    mode = stat.S_IMODE((keyed.app_dir / ".durable" / "keys.json").stat().st_mode)
    assert mode == 0o600


def test_a_world_readable_keys_file_is_made_private_and_kept(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    keys = app_dir / ".durable" / "keys.json"
    keys.parent.mkdir()
    keys.write_text(json.dumps({"functionKeys": {"default": "f"}, "masterKey": "m"}))
    keys.chmod(0o644)
    host = launch(app_dir, tmp_path / "hub.sqlite3", args=("--require-keys",))
    try:
        assert stat.S_IMODE(keys.stat().st_mode) == 0o600
        data = json.loads(keys.read_text())
        assert data["masterKey"] == "m" and data["functionKeys"] == {"default": "f"}
        assert data["systemKeys"]["durabletask_extension"]  # added for the management API
        assert host.request("GET", f"{MANAGEMENT}?code=m").status == 200
    finally:
        host.stop()


def test_the_management_api_needs_the_system_key(keyed: Host) -> None:
    refused = keyed.request("GET", MANAGEMENT)
    assert refused.status == 401
    assert "system key" in refused.json()["Message"]
    assert keyed.request("GET", f"{MANAGEMENT}?code=wrong").status == 401
    assert keyed.request("GET", f"{MANAGEMENT}?code={_system_key(keyed)}").status == 200
    master = str(_keys(keyed)["masterKey"])
    assert keyed.request("GET", MANAGEMENT, headers={"x-functions-key": master}).status == 200
    # A function key opens functions, not the management API.
    function_keys = _keys(keyed)["functionKeys"]
    assert isinstance(function_keys, dict)
    assert keyed.request("GET", f"{MANAGEMENT}?code={function_keys['default']}").status == 401


def test_a_starter_still_works_and_its_links_carry_the_system_key(keyed: Host) -> None:
    """The durable client calls the RPC prefix from this machine, as the Functions host's."""
    reply = keyed.request("POST", "/api/orchestrators/chain", json_body=1)
    assert reply.status == 202, reply.body
    links = reply.json()
    assert f"code={_system_key(keyed)}" in links["statusQueryGetUri"]
    status = keyed.request("GET", urlsplit(links["statusQueryGetUri"])._replace(scheme="").geturl())
    assert status.status in (200, 202)
    assert keyed.request("GET", "/durabletask/instances").status == 200


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp("exposed")
    host = launch(
        copy_app("sdk_app", tmp),
        tmp / "hub.sqlite3",
        args=("--host", "0.0.0.0", "--require-keys", "--allow-host", "devbox.example"),
    )
    try:
        yield host
    finally:
        host.stop()


def test_an_exposed_host_warns_and_shows_urls_other_machines_can_use(exposed: Host) -> None:
    banner = exposed.tail(200)
    assert "WARNING: this development host listens on" in banner
    assert "reachable from the network" in banner
    port = urlsplit(exposed.base).port
    assert f"From other machines: http://{_this_machine()}:{port}/" in banner
    assert f"secret: [GET] http://{_this_machine()}:{port}/api/secret" in banner
    assert "127.0.0.1" not in banner.split("Functions:")[1].split("Durable management API")[0]


def test_an_exposed_host_keeps_the_rpc_prefix_closed_to_other_addresses(exposed: Host) -> None:
    address = _this_machine()
    port = urlsplit(exposed.base).port
    try:
        sock = socket.create_connection((address, port), timeout=5)
    except OSError:
        pytest.skip(f"this machine cannot connect to its own address {address}")
    with sock:
        if sock.getsockname()[0].startswith("127."):
            pytest.skip("the machine's address routes through loopback")
        head = f"GET /durabletask/instances HTTP/1.1\r\nHost: {address}:{port}\r\n"
        sock.sendall(head.encode() + b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer
    # From loopback the durable client's RPC prefix stays open.
    assert exposed.request("GET", "/durabletask/instances").status == 200


def test_an_exposed_host_points_its_links_at_the_address_the_client_used(exposed: Host) -> None:
    key = _system_key(exposed)
    reply = exposed.request(
        "POST",
        f"/runtime/webhooks/durabletask/orchestrators/chain?code={key}",
        json_body="1",
        headers={"Host": "devbox.example:7071"},
    )
    assert reply.status == 202, reply.body
    assert reply.json()["statusQueryGetUri"].startswith("http://devbox.example:7071/")


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        pytest.param("127.0.0.1", True, id="ipv4"),
        pytest.param("::1", True, id="ipv6"),
        pytest.param("::ffff:127.0.0.1", True, id="ipv4-mapped"),
        pytest.param("localhost", True, id="name"),
        pytest.param("10.1.2.3", False, id="private"),
        pytest.param("0.0.0.0", False, id="wildcard"),
        pytest.param("", False, id="unknown"),
    ],
)
def test_only_this_machines_addresses_count_as_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback
