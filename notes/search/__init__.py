"""Search and trending: segmentation, search documents, backends, hot searches and hot topics.

Write side: a note going live (or being edited) enqueues :func:`notes.tasks.search_index_note`, which
segments its text into a search document; users and products are indexed when they are saved.
Read side: :mod:`notes.search.selectors` matches the query's tokens against the documents and returns
querysets that still pass through each model's visibility rule, so the index may lag but never leaks.
"""
