"""The application layer: wires the core, the channels and the flows of ``handlers/``
into a running bot (runtime, CLI, workers). The only part of ``bot/`` that imports
``handlers``."""
