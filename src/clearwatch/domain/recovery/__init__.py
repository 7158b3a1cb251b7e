"""Recovery: what a backup holds and the rules a restore checks it by."""
