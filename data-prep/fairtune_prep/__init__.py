"""fairtune_prep: turns medical-imaging fairness datasets into fairtune HDF5 shards.

Run ``python -m fairtune_prep --help``. The shard format is owned by :mod:`fairtune_prep._shards`
and documented in ``docs/shard-format.md``.
"""

__version__ = "0.1.0"
