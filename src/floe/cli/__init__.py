"""The ``floe`` command."""
