"""An entity: a counter with add and get."""

import durable_functions as df


def entity_function(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
        context.set_state(value)
    elif context.operation_name == "get":
        context.set_result(value)


main = df.Entity.create(entity_function)
