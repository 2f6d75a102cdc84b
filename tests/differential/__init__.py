"""Differential tests: our SDK against azure-functions-durable 1.7.0 on identical payloads.

* `programs.py` generates orchestrator programs written once against the context API;
* `simulator.py` plays the host episode by episode (random completion order and failures);
  `harness.play_engine` does the same with our host engine writing the histories;
* `test_orchestrations.py` / `test_entities.py` compare the SDKs' answers.

Run: `pytest tests/differential` (marker `reference`). `DIFFERENTIAL_EXAMPLES=N` sets the number
of examples per property (default 200); `DIFFERENTIAL_SHRINK=1` shrinks a failure to the
smallest program, which can take minutes.
"""
