import azure.functions as func


def main(request: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("never served: the binding is named req")
