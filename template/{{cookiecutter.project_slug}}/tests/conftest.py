"""Test fixtures from the vendored SDK's testing toolkit.

* ``durable_env``: this app (``function_app.py``) in an in-memory task hub, in virtual time:
  timers fire at once, activities really run unless stubbed.
* ``durable_client``: a real ``DurableOrchestrationClient`` answered by ``durable_env``, to call
  the HTTP functions with (no host, no network).
"""

pytest_plugins = ["durable_functions.testing.pytest_plugin"]
