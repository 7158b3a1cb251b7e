"""Values every area shares: money, the calendar, kinds, the file schema."""
