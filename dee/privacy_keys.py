"""The privacy toolbox (``adapters.privacy.Privacy``) for a configuration and database.

The master key is read (or, for the embedded default, generated) once per process
and source; the services that seal, pseudonymise or refuse erased contacts (event
ingest, run starts, the worker's activities, ``dee contact``) build theirs here.
"""

from __future__ import annotations

from pathlib import Path

from adapters.privacy import MasterKey, MasterKeyError, Privacy
from adapters.storage import Database
from dee.config import EngineConfig
from dee.errors import EngineError

_masters: dict[tuple[str | None, Path | None, Path], MasterKey] = {}


def master_key(config: EngineConfig) -> MasterKey:
    """The configured master key's derived keys.

    Raises:
        EngineError: the configured key or key file is unusable (the reason named).
    """
    p = config.privacy
    source = (p.master_key, p.master_key_file, config.data_dir.resolve())
    found = _masters.get(source)
    if found is None:
        try:
            found = MasterKey.load(value=p.master_key, file=p.master_key_file, data_dir=source[2])
        except MasterKeyError as exc:
            raise EngineError([str(exc)]) from None
        _masters[source] = found
    return found


def privacy_for(config: EngineConfig, database: Database) -> Privacy:
    """Pseudonyms and contact keys under the configured master key (see ``master_key``)."""
    return Privacy(database, master_key(config))


__all__ = ["master_key", "privacy_for"]
