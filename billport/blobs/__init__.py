"""Object storage for exported blobs, and signed download tokens."""
