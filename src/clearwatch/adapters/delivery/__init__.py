"""Delivery of approved warnings: files kept content-addressed, signed webhooks, documents."""
