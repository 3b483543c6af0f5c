"""Command-line commands: thin layers over the Python API, registered by ``counterram.cli``."""
