"""Local names that look like modules are not modules: no findings."""

import durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def local_names(context: df.DurableOrchestrationContext):
    random = context.new_uuid()
    time = context.current_utc_datetime
    requests = context.get_input()
    label = f"{random.upper()} {time.isoformat()} {requests.get('id')}"
    result = yield context.call_activity("record", label)
    return result


@app.orchestration_trigger(context_name="context")
def parameter_names(context: df.DurableOrchestrationContext, socket=None):
    yield context.call_activity("send", socket.describe() if socket else None)
