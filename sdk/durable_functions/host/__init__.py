"""The local durable host: a pure engine, a storage seam and the code that drives them.

``engine`` decides what the Durable Task extension would do with an orchestrator's
actions (pure functions over JSON-shaped data), ``backend`` is the storage seam
(``Backend`` Protocol and an in-memory ``MemoryBackend``), ``runner`` performs
one unit of work at a time and ``run_until_idle`` drives everything in virtual
or wall-clock time. The SQLite store, the dispatcher threads and the HTTP server
sit on top of these.
"""
