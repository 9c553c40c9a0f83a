"""OLX: safe parsing and serialization of blocks, and import of whole courses (folder, tar, zip, fs)."""
