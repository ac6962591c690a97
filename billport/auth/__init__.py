"""Tokens: the development issuer, key material, and validation of bearer tokens."""
