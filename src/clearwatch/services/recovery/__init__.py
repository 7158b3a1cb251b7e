"""Recovery use cases: back up a running store, restore a verified backup."""
