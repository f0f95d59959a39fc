"""Contacts: reading staff spreadsheets, importing them, and answering for the data.

`csvread` decodes and parses a CSV, `rows` turns its records into contacts or rejects,
`importer` writes them to the store, `query` shows and counts, `export` writes a CSV,
`manage` removes, suppresses and unsuppresses one address, and `erasure` answers
subject access and erasure requests. `base.open_lists(workspace)` opens what they all
share. The CLI (`composer.cli.lists_cmd`) calls these and prints.
"""
