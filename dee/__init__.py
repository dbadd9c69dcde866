"""DEE's public face: the ``Engine``, its configuration, the ``dee`` CLI and the demo.

``dee.engine.Engine`` starts runs (one contact or many), reads them, delivers events to
them, steers them (pause, resume, cancel, retry, resolve) and replays them;
``dee.config.load_config`` reads the settings file and the ``DEE_*`` variables into an
``EngineConfig``. ``dee.cli`` holds the ``dee`` commands, ``dee.webhooks`` the webhook
receiver, ``dee.devserver`` the Temporal dev server with DEE's search attributes, and
``dee.demo`` the embedded demo. This package wires ``workflows``, ``activities`` and
``adapters`` together; none of them imports it.
"""
