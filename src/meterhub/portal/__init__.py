"""The web portal: server-rendered pages per area, calling the same services as the API."""
