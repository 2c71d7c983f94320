"""Background workers: the outbox sender and periodic maintenance."""
