"""marshmallow schemas: input and output, per audience (member, public)."""
