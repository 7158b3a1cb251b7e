"""Recovery's outside world: store dumps, the backup folder, the columnar objects' files."""
