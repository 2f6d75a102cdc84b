"""The local durable host: a pure engine, a storage seam and the code that drives them.

``engine`` decides what the Durable Task extension would do with an orchestrator's
actions (pure functions over JSON-shaped data), ``backend`` is the storage seam
(the ``Backend`` Protocol; ``memory.MemoryBackend`` and ``store.SqliteStore``
implement it), ``driver`` runs episodes, activities and entity batches over it
(one at a time and ``run_until_idle`` in virtual or wall-clock time, or in
batches on the dispatcher's threads), ``runner`` holds the management operations.
The HTTP server sits on top of these.
"""
