"""Generated from proto/proto/sqlflow.proto by python/tools/generate.py. Do not edit."""
