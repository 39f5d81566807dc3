"""Test helpers every service's tests share: infrastructure, waiting, reading topics."""
