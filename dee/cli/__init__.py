"""The ``dee`` command line."""
