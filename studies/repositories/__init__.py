"""Repositories: query and add ORM rows inside a session they are given; they never commit."""
