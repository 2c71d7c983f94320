"""The core framework: the neutral message model, flows and their context, the router, the
engine (one committed step per event), settings, content and texts. Knows no channel, no
flow and no domain package."""
