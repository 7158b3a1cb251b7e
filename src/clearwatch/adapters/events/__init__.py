"""The watch's event stream: the in-process bus, NATS JetStream, and events read from files."""
