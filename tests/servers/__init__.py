"""Local test servers (127.0.0.1 only): a rustac STAC API, a Range file server, a faulty proxy."""
