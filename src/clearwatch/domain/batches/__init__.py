"""Batches of the back office: manifests, identities, named rejections."""
