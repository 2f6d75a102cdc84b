"""Entity wire types at the reference SDK's import path (see ``durable_functions.entity``)."""

from __future__ import annotations

# Imported from the per-class submodules, as the reference does, so that the
# package attribute stays the class even after ``import <package>.<Class>``.
from durable_functions.models.entities.EntityState import EntityState
from durable_functions.models.entities.OperationResult import OperationResult
from durable_functions.models.entities.RequestMessage import RequestMessage
from durable_functions.models.entities.Signal import Signal

__all__ = ["EntityState", "OperationResult", "RequestMessage", "Signal"]
