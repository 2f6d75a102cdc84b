import durable_functions as df


def tally(context: df.DurableEntityContext) -> None:
    total = context.get_state(lambda: 0)
    if context.operation_name == "add":
        total += context.get_input()
    context.set_state(total)
    context.set_result(total)


main = df.Entity.create(tally)
