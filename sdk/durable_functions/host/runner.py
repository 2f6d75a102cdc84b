"""The names the runner used to define, kept at their old import path.

The driver of episodes is ``driver`` (one stepper for the host's threads and the test
harness's virtual time), the clocks are in ``clock`` and the management operations
(start, raise event, terminate, …) in ``management``::

    backend, clock = MemoryBackend(clock), VirtualClock()
    instance_id = management.start(backend, "hello", input_json='"\\"Tokyo\\""', now=clock.now())
    run_until_idle(backend, invoker, clock)
    backend.get_instance(instance_id).runtime_status   # RuntimeStatus.Completed
"""

from __future__ import annotations

from durable_functions.errors import InstanceExistsError, InstanceStateError
from durable_functions.host.clock import Clock, SystemClock, VirtualClock
from durable_functions.host.driver import (
    Hooks,
    Invoker,
    call_http,
    run_activity,
    run_entity_batch,
    run_until_idle,
    step_activity,
    step_entity,
    step_orchestration,
    wait_for_next_timer,
)

__all__ = [
    "Clock",
    "Hooks",
    "InstanceExistsError",
    "InstanceStateError",
    "Invoker",
    "SystemClock",
    "VirtualClock",
    "call_http",
    "run_activity",
    "run_entity_batch",
    "run_until_idle",
    "step_activity",
    "step_entity",
    "step_orchestration",
    "wait_for_next_timer",
]
