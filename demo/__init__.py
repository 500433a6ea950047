"""A small demo district for `make run` and for trying the API by hand."""
