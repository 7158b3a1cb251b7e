"""The watch's outside world: its rules file, its alert log, its isolation forest."""
