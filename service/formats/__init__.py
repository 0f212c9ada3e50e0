"""Documents in other formats: pure builders, rows in and a dict out.

Nothing here touches Flask or the database: a view (service/api/exports.py) fetches the rows with
service/repo/exports.py and hands them to a builder, so any other route (content negotiation on a
resource, a feed, a job) can call the same builder with the same rows.
"""
