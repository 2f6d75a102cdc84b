"""The Function app: one DFApp that registers a blueprint per concern.

The Functions host imports this module and indexes every function registered
on ``app``. Add features as new blueprints and register them here.
"""

import logging

import azure.functions as func
import durable_functions as df

import activities
{%- if cookiecutter.include_entity %}
import entities
{%- endif %}
import http_api
import orchestrations

# azure-functions logs a one-time INFO advisory ("df_loads was called without expected_type")
# when its activity converter decodes an input; it is not about this app's code.
logging.getLogger("azure.functions.DurableFunctions").setLevel(logging.WARNING)

app = df.DFApp(http_auth_level=func.AuthLevel.{{ cookiecutter.http_auth_level.upper() }})
app.register_functions(http_api.bp)
app.register_functions(orchestrations.bp)
app.register_functions(activities.bp)
{%- if cookiecutter.include_entity %}
app.register_functions(entities.bp)
{%- endif %}
