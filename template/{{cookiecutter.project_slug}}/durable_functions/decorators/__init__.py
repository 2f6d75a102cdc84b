"""Decorator definitions for Durable Functions (import path of the reference SDK)."""
