"""The model of the CRUD benchmark (``benchmarks/crud.py``); its table is made in the script."""
