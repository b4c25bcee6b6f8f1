"""Calculator engines behind one registry."""
