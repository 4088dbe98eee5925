"""Communications Hub logistics: returns to the DCC (8.14.3/8.14.4) and their explicit charges."""
