"""Persistence: the peewee models, the database connection per request, stored answers.

Nothing here imports forms or scoring; views join them.
"""
