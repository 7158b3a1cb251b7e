"""The watch over the flow: events of the back office, rules and models over them, alerts."""
