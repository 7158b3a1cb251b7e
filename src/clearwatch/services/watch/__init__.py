"""Watch use cases: consume the event stream idempotently, replay a day, train the models."""
