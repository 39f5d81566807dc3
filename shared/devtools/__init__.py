"""Local stand-ins that speak the real protocols: the embedded broker and the mail sink."""
