"""The SQLite task hub store: durable state of instances, queues, timers and entities.

One file holds any number of task hubs (every row carries its hub name). The file is
opened in WAL mode so status queries never wait for the dispatcher, and every change
the engine asks for in one orchestration episode is applied in ONE transaction: history
append, consumed messages deleted, new messages/activities/timers/entity requests
enqueued, status updated. A crash therefore leaves either all of an episode or none.

Orchestration and activity claims live in memory, shared by the store objects of one
process on one file: only one process serves a file (an advisory lock), so a claim
needs no write transaction. Entity claims are recorded in ``locked_by`` with a token
unique to the running process. Opening the store for serving (``recover=True``)
releases every claim, so work a killed host had claimed but not committed becomes
visible again. One in-process lock orders the writers (``store_claims._write_lock_for``).

``sqlite3`` errors are translated once, in ``store_base``, into :class:`HostError`. The
store's parts: ``store_schema`` (schema, migrations, codecs), ``store_claims`` (in-memory
claims), ``store_base`` (connections, rows), ``store_episodes`` (claim/commit episodes and
activities), ``store_queries`` (instances and management reads), ``store_entities``.
"""

from __future__ import annotations

from durable_functions.host.store_claims import KNOWN_INSTANCES as KNOWN_INSTANCES
from durable_functions.host.store_entities import EntityStore
from durable_functions.host.store_episodes import EpisodeStore
from durable_functions.host.store_queries import QueryStore
from durable_functions.host.store_schema import MAX_BATCH as MAX_BATCH
from durable_functions.host.store_schema import SCHEMA_VERSION as SCHEMA_VERSION
from durable_functions.host.store_schema import _parse_ts as _parse_ts
from durable_functions.host.store_schema import _ts as _ts


class SqliteStore(EpisodeStore, EntityStore, QueryStore):
    """The task hub store for one hub in one SQLite file.

    Safe to use from many threads: each thread gets its own connection.
    """
