"""The ``meterhub`` command: thin Typer commands that parse, call a service and print."""
