"""Reference SDK import path: ``durable_functions.client``'s RpcManagementOptions."""

from __future__ import annotations

from durable_functions.client import RpcManagementOptions

__all__ = ["RpcManagementOptions"]
