"""Trading rules of the back office: fees and trade amounts."""
